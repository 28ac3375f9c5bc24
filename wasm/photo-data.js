// photo-data.js — render options made ready for the engine: the objective through the
// engine's grammar (engine.describe: class names resolved with the model's labels,
// canonical form), and the activations of every photo it names computed by the engine
// and recorded in the options' "photos" (src/options.h), beside the photo's sha256.
// The CLI (photos from files) and wasm/worker.js (photos the page sent) both call it.
//
//   import { prepareOptions } from './photo-data.js';
//   const { options, expression, terms } = await prepareOptions(engine, model, opts, {
//     labels: labels.names,                          // Labels.names: class(macaw) resolves
//     photo: async (name) => readFileSync(name),      // bytes of a photo the objective names
//   });
//   const r = engine.render(model, options);         // options.photos hold the activations
//
// Why the activations and not the photo: a manifest must re-render bit for bit without
// the photo (a page's photos are local files that never leave the machine); the
// activations are exactly what the render compared against, a few KB (a direction: C
// floats) to a few hundred KB (a caricature: H·W·C at the render size); the sha256 says
// which photo they came from, so anyone holding it can check or recompute them.
import { InputError } from './options.js';

/** Hex SHA-256 of bytes (Web Crypto: the browser's, and Node's globalThis.crypto). */
export async function sha256Hex(bytes) {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * A photo's activations at a layer with the photo resized to size × size (the render's
 * size, so a caricature's target has the render's map): kind 'mean' → { shape: [C], values }
 * (a direction), 'map' → { shape: [H, W, C], values } (a caricature's target, NHWC).
 */
export function photoActivations(engine, model, bytes, layer, kind, size) {
  const li = model.layerIndex(layer);
  const inf = engine.infer(model, { h: size, w: size, lastLayer: li });
  try {
    inf.runImage(bytes);
    if (kind === 'mean') {
      const v = inf.channelMeans(li);
      return { shape: [v.length], values: Array.from(v) };
    }
    const { shape, data } = inf.layer(li);
    return { shape: shape.slice(1), values: Array.from(data) };
  } finally {
    inf.free();
  }
}

/**
 * The options as the engine will render them (see the header). photo(name) → bytes (or a
 * Promise of them) for each photo the objective names whose activations are not in
 * options.photos yet; a photo it cannot give is an InputError naming it.
 */
export async function prepareOptions(engine, model, options, { labels = null, photo = null } = {}) {
  const d = engine.describe(model, options, labels);
  const o = d.options;
  for (const p of o.photos ?? []) {
    if (p.values) continue;
    const bytes = photo ? await photo(p.name) : null;
    if (!bytes) throw new InputError(`the objective names the photo "${p.name}": open it (or give its path)`);
    Object.assign(p, { sha256: await sha256Hex(bytes), ...photoActivations(engine, model, bytes, p.layer, p.kind, o.size) });
  }
  return { options: o, expression: d.expression, terms: d.terms };
}
