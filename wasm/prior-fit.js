// prior-fit.js — the one recipe for fitting the patch prior (src/prior.h) to photos,
// shared by `featviz prior fit`, the worker's fitPrior action and scripts that make the
// shipped prior, what a manifest records of a prior and the names prior files go by
// (the page's downloads, the embed's, the CLI's lookup). No I/O of its own.
//
//   const fit = startFit(engine, photos, { components: 8 });   // photos: [{ name, bytes }]
//   for (const p of fit.steps()) show(p);                       // { iteration, iterations, loglik, objective }
//   const { bytes, skipped } = fit.finish();                    // prior.bin
//
// Each photo is decoded by the engine (stb) and resized to PRIOR_PHOTO_SIZE square,
// the scale at which the network sees a photo, and so the scale of a render's detail; the
// photos go in sorted by name, so the same folder gives the same bytes.
import { sha256Hex } from './photo-data.js';

export const PRIOR_PHOTO_SIZE = 224;
/** The shipped prior, fitted on the store's photos by scripts/setup.sh, under models/. */
export const SHIPPED_PRIOR_NAME = 'prior-store.bin';
/** The file name of a prior fitted elsewhere (the page's): its sha256's first 12 hex digits, so
 * that two fits do not collide; a manifest records it, the CLI looks for it beside the manifest. */
export const priorFileName = (sha256) => `prior-${String(sha256).slice(0, 12)}.bin`;

/** The engine's defaults (src/prior_fit.c fv_prior_fit_opts_default), for messages and the usage text. */
export const PRIOR_FIT_DEFAULTS = Object.freeze({ components: 8, iterations: 30, stride: 4, maxPatches: 20000, seed: 0 });

/** A fit over photos [{ name, bytes }]: photos that do not decode are skipped (skipped: [{ name, error }]). */
export function startFit(engine, photos, opts = {}) {
  const o = { ...PRIOR_FIT_DEFAULTS, ...opts };
  const fit = engine.priorFit(o);
  const skipped = [];
  let used = 0;
  try {
    for (const { name, bytes } of [...photos].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      let im = null, sq = null;
      try {
        im = engine.decodeImage(bytes);
        sq = im.resize(PRIOR_PHOTO_SIZE, PRIOR_PHOTO_SIZE);
        fit.add(sq);
        used++;
      } catch (e) {
        skipped.push({ name, error: e.message });
      } finally {
        sq?.free();
        im?.free();
      }
    }
    if (!used) throw new Error(`none of the ${photos.length} photos could be read (JPEG, PNG, BMP, GIF)`);
  } catch (e) {
    fit.free();
    throw e;
  }
  return {
    options: o, used, skipped,
    /** One EM iteration per item, until opts.iterations; stop early by leaving the loop. */
    * steps() {
      while (fit.iterations < o.iterations) {
        fit.step();
        yield { iteration: fit.iterations, iterations: o.iterations, loglik: fit.loglik, objective: fit.objective, patches: fit.patches };
      }
    },
    /** prior.bin of the parameters so far; frees the fit. */
    finish() {
      try {
        return { bytes: fit.save(), skipped };
      } finally {
        fit.free();
      }
    },
    free() { fit.free(); },
  };
}

/** What a render manifest records of its prior: enough to find it again and to make it again. */
export async function priorRecord(prior, bytes, file) {
  const i = prior.info();
  return {
    file, sha256: await sha256Hex(bytes), components: i.components,
    made: `featviz prior fit PHOTOS --out ${file} --components ${i.components} --iterations ${i.iterations} ` +
      `--stride ${i.stride} --seed ${i.seed}  (${i.images} photos, ${i.patches} patches; the same photos give the same bytes)`,
  };
}
