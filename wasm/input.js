// input.js — what a photo's pixels become before a model's first op, decided once per
// model and said out loud. Lucid calls a wrong input range "the most common cause of
// feature visualization bugs"; a model file often does not say its range at all.
//
// Where the choice comes from, first that applies:
//   1. the user's preset (--input PRESET [--bgr], the page's input control, input= on <feature-vis>);
//   2. the file (ONNX image metadata, TFLite NormalizationOptions or input quantization:
//      the engine reports it as Model.input.source);
//   3. the catalog entry's "preprocess";
//   4. detection: the real photos at hand (the store's, or the user's) run under every
//      preset, both channel orders; the one under which the model is confident and
//      consistent wins, and the choice is marked a guess with how sure it is.
//
//   import { chooseInput } from './input.js';
//   const choice = chooseInput(engine, model, { input: 'auto', bgr: false, catalog: cat.preprocess(entry), photos });
//   choice → { preset: 'caffe' | null, swap, label: 'caffe', source: 'onnx metadata' | 'you' | 'catalog' | 'detected' | 'default',
//              guess, sure: 0..1 | null, note: text for people, input: Model.input after the choice, ranking? }
//   // the model now runs with it (Model.setInput); manifestInput(choice) records it
//
// Detection is a loop over the engine's forward passes (fv_infer) and a score over
// their top-1 probabilities; nothing numerical is computed here beyond that score, so it
// lives in JavaScript beside its callers rather than in the engine.
import { INPUT_NAMES, inputFor, presetOf, presetLabel } from './options.js';

// ---- detection -----------------------------------------------------------------------

/** Every preset in both channel orders: [{ preset, swap }]. */
export const CANDIDATES = Object.freeze(INPUT_NAMES.flatMap((preset) => [false, true].map((swap) => ({ preset, swap }))));

/**
 * Runs photos (encoded bytes) under every candidate and ranks them, best first:
 * [{ preset, swap, label, confidence, distinct, agree, top: [{ index, prob }] per photo }].
 * confidence: the geometric mean of the photos' top-1 probabilities (a trained network
 * fed what it was trained on is sure of its answer on real photos). Confidence alone is
 * fooled by a range far too wide, which saturates the logits, so two consistency checks:
 * distinct, the share of photos with a top-1 of their own (saturation often gives every
 * photo the same class), and agree, the share of photos whose top-1 is the one most
 * candidates that tell photos apart give it (saturation's classes are arbitrary, while the
 * presets near the right one agree with each other). Credible candidates (see credible)
 * come first, each group by confidence. The model's input description is restored afterwards.
 */
export function detectInput(engine, model, photos) {
  if (!photos.length) return [];
  const before = model.input;
  const [, h, w] = before.shape;
  const images = photos.map((b) => {
    const im = engine.decodeImage(b);
    try { return im.resize(w, h); } finally { im.free(); }
  });
  const inf = engine.infer(model);
  const ranking = [];
  try {
    for (const c of CANDIDATES) {
      model.setInput(inputFor(c.preset, c.swap));
      const top = images.map((im) => {
        inf.run(im);
        return inf.topk(1)[0];
      });
      const confidence = Math.exp(top.reduce((s, t) => s + Math.log(Math.max(t.prob, 1e-12)), 0) / top.length);
      const distinct = new Set(top.map((t) => t.index)).size / top.length;
      ranking.push({ ...c, label: presetLabel(c.preset, c.swap), confidence, distinct, top });
    }
  } finally {
    inf.free();
    images.forEach((im) => im.free());
    model.setInput(before);
  }
  const apart = ranking.filter((r) => r.distinct >= DISTINCT);
  const consensus = photos.map((_, i) => plurality(apart.map((r) => r.top[i].index)));
  for (const r of ranking) r.agree = r.top.filter((t, i) => t.index === consensus[i]).length / photos.length;
  return ranking.sort((a, b) => credible(b) - credible(a) || b.confidence - a.confidence);
}

/** The value most often in a list (the first such), or undefined for an empty one. */
function plurality(list) {
  const n = new Map();
  for (const v of list) n.set(v, (n.get(v) ?? 0) + 1);
  let best, most = 0;
  for (const [v, k] of n) if (k > most) [best, most] = [v, k];
  return best;
}

// A trained classifier fed what it was trained on tells real photos apart: at least this
// share of them get a top-1 of their own under the right preset. A model that gives (nearly)
// every photo the same class under every preset (random weights, not an ImageNet
// classifier, saturated logits) says nothing about its input, however confident it looks.
const DISTINCT = 0.75;
// ... and it agrees with the presets near the right one on at least this share of photos.
const AGREE = 0.5;

/** Whether a ranked candidate is consistent (see DISTINCT, AGREE). */
export const credible = (r) => r.distinct >= DISTINCT && r.agree >= AGREE;

/**
 * The preset a file format's exporters use when the file does not say (src/fv.h: the
 * engine's own guess): TFLite's (p − 127.5)/127.5, torchvision's ImageNet normalization
 * for ONNX. The file's op names tell the format (TFLite's are upper case: CONV_2D).
 */
export function conventionOf(model) {
  const op = model.layers()[0]?.op ?? '';
  return { preset: /^[A-Z0-9_]+$/.test(op) ? '-1:1' : 'imagenet', swap: false };
}

/**
 * How sure a ranking's winner is, 0..1: the share of photos on which it is more confident
 * than the best candidate of another preset (the channel order is judged separately: its
 * twin is often close); 0 when no candidate is credible. Returns { sure, next }.
 */
function sureOf(ranking) {
  const [best] = ranking;
  if (!best || !credible(best)) return { sure: 0, next: null };
  const next = ranking.find((r) => r.preset !== best.preset && credible(r));
  if (!next) return { sure: 1, next: null };
  const wins = best.top.filter((t, i) => t.prob > next.top[i].prob).length;
  return { sure: wins / best.top.length, next };
}

// ---- the choice ----------------------------------------------------------------------

function describe(c) {
  const what = c.label ?? 'as the file describes it';
  const override = '; --input PRESET to choose another';
  switch (c.source) {
    case 'you': return `input ${what} (your choice)`;
    case 'catalog': return `input ${what} (the catalog's entry for this model)`;
    case 'detected': {
      const best = c.ranking[0], n = best.top.length;
      if (c.tie) {
        return `input ${what}: a guess, 50% sure (the file does not say): on ${n} photos the model is as confident under `
          + `${c.tie.label} (${c.tie.confidence.toFixed(2)}) as under this, the file format's convention` + override;
      }
      return `input ${what}: a guess, ${Math.round(100 * c.sure)}% sure (the file does not say): on ${n} photo${n > 1 ? 's' : ''} the model `
        + `is ${best.confidence.toFixed(2)} confident under it` + (c.next ? `, more than under ${c.next.label} (${c.next.confidence.toFixed(2)}) on ${Math.round(c.sure * n)} of them` : '')
        + override;
    }
    case 'default':
      return `input ${what}: a guess, 0% sure (the file does not say, and ${c.ranking?.length
        ? 'no preset makes the model tell the photos apart: kept the file format\'s convention' : 'there were no photos to test presets on'})` + override;
    default: return `input ${what} (${c.source})`;
  }
}

/**
 * Decides the model's input (see the header), sets it on the model and returns the choice.
 * input, bgr: the user's preset ('auto': none); catalog: Catalog.preprocess(entry) or null;
 * photos: encoded photos for detection (or a function giving them, called only if needed);
 * file: the model's input as loaded (Model.input before any choice: a model chosen for
 * before must pass it). Throws InputError for an unknown preset.
 */
export function chooseInput(engine, model, { input = 'auto', bgr = false, catalog = null, photos = [], file = model.input } = {}) {
  let c;
  const own = () => { const p = presetOf(file); return { preset: p?.preset ?? null, swap: p?.bgr ?? false }; };
  if (input !== 'auto') {
    c = { preset: input, swap: !!bgr, source: 'you', guess: false, sure: null };
  } else if (file.source) {
    c = { ...own(), source: file.source, guess: false, sure: null };
  } else if (catalog) {
    c = { preset: catalog.preset, swap: !!catalog.bgr, source: 'catalog', guess: false, sure: null };
  } else {
    const ranking = detectInput(engine, model, typeof photos === 'function' ? photos() : photos);
    const conv = conventionOf(model);
    const convention = ranking.find((r) => r.preset === conv.preset && r.swap === conv.swap);
    if (ranking.length && credible(ranking[0])) {
      const best = { ...sureOf(ranking), ranking };
      // photos that cannot tell the winner from another preset (on half of them or fewer)
      // leave the format's convention standing, when it too is credible
      const tie = best.sure <= 0.5 && convention && credible(convention) && convention.preset !== ranking[0].preset;
      c = tie ? { ...conv, source: 'detected', guess: true, sure: 0.5, tie: ranking[0], ranking }
        : { preset: ranking[0].preset, swap: ranking[0].swap, source: 'detected', guess: true, ...best };
    } else {
      c = { ...(ranking.length ? conv : own()), source: 'default', guess: true, sure: 0, ranking };
    }
  }
  const d = c.source === 'default' || c.source === file.source ? file : { ...inputFor(c.preset, c.swap), source: c.source };
  model.setInput(d);
  c.label = c.preset ? presetLabel(c.preset, c.swap) : null;
  c.input = model.input;
  c.note = describe(c);
  return c;
}

/** Sets the input a manifest recorded (manifestInput), so a re-render sees the same pixels. */
export function applyManifestInput(model, rec) {
  if (!rec) return;
  model.setInput({ bgr: rec.order === 'BGR', scale: rec.scale, offset: rec.offset, source: rec.source });
}
