// examples.mjs — dataset examples: the photos of a folder ranked by a channel
// (its mean activation over space, highest first: `featviz examples` and the
// atlas's top photos alike), and the crop of a photo around the channel's
// strongest position.
//
//   const files = listPhotos(dir);                                   // sorted JPEG/PNG/BMP/GIF names
//   const scores = scoreLayer(engine, model, layer, [5, 9], dir, files, { onSkip: (f, e) => … });
//   const top = rank(scores, 5, 10);                                 // [{ file, score, y, x }], highest first
//   const { png, box } = cropAround(engine, bytes, top[0], scores);  // CROP.size² PNG; box [x, y, w, h] in photo pixels
//
// The engine judges a channel's range (scoreLayer throws its FvError); a photo
// it cannot read is skipped (onSkip) and the others still count.
import { readdirSync } from 'node:fs';
import { extname, join } from 'node:path';
import { readInput } from './inputs.mjs';

export const IMAGE_EXT = new Set(['.jpg', '.jpeg', '.png', '.bmp', '.gif']);

/**
 * How a crop is cut: the model sees the whole photo stretched to its input, so an
 * activation cell covers 1/h × 1/w of the photo; the crop covers `cells` × `cells` cells
 * around the strongest one (at least `min` of the photo's width and height, so a deep
 * layer's few cells and an early layer's many give a view with context), kept inside the
 * photo and resized to `size` × `size` pixels (the model's view: stretched back to square).
 */
export const CROP = Object.freeze({ cells: 3, min: 0.25, size: 96 });

/** The photo files of a folder (by extension), sorted by name; throws when it has none. */
export function listPhotos(dir) {
  let entries;
  try {
    entries = readdirSync(dir).filter((f) => IMAGE_EXT.has(extname(f).toLowerCase())).sort();
  } catch (e) {
    throw new Error(`cannot read directory ${dir}: ${e.code ?? e.message}`);
  }
  if (!entries.length) throw new Error(`no photos (JPEG, PNG, BMP, GIF) in ${dir}`);
  return entries;
}

/**
 * Every photo run once through the model up to `layer`: { files (the ones read), h, w,
 * means: [Float32Array(C)] per file, argmax: Map channel → [cell index y*w+x per file] }
 * for the given channels.
 */
export function scoreLayer(engine, model, layer, channels, dir, files, { onSkip = () => {} } = {}) {
  const inf = engine.infer(model, { lastLayer: layer });
  const out = { files: [], h: 0, w: 0, means: [], argmax: new Map(channels.map((c) => [c, []])) };
  try {
    for (const f of files) {
      try {
        inf.runImage(readInput(join(dir, f), 'image'));
      } catch (e) {
        onSkip(f, e);
        continue;
      }
      out.files.push(f);
      out.means.push(inf.channelMeans(layer));
      for (const c of channels) {
        const map = inf.channelMap(layer, c); // a channel out of range stops here, with the engine's message
        [out.h, out.w] = [map.h, map.w];
        let best = 0;
        for (let p = 1; p < map.data.length; p++) if (map.data[p] > map.data[best]) best = p;
        out.argmax.get(c).push(best);
      }
    }
  } finally {
    inf.free();
  }
  if (!out.files.length) throw new Error(`none of the files in ${dir} could be read as a photo`);
  return out;
}

/** The top photos of a channel: [{ file, score, y, x }] by mean activation, highest first (ties: by name). */
export function rank(scores, channel, top) {
  const cells = scores.argmax.get(channel);
  return scores.files
    .map((file, i) => ({ file, score: scores.means[i][channel], y: Math.floor(cells[i] / scores.w), x: cells[i] % scores.w }))
    .sort((a, b) => b.score - a.score || (a.file < b.file ? -1 : 1))
    .slice(0, top);
}

/** The crop of photo bytes around cell (y, x) of an h × w map: { png, box: [x, y, w, h] in photo pixels }. */
export function cropAround(engine, bytes, { y, x }, { h, w }) {
  const im = engine.decodeImage(bytes);
  try {
    const W = im.width, H = im.height, rgb = im.rgb();
    const side = (cells, N) => Math.max(1, Math.min(N, Math.round(N * Math.max(CROP.cells / cells, CROP.min))));
    const bw = side(w, W), bh = side(h, H);
    const x0 = Math.min(W - bw, Math.max(0, Math.round(((x + 0.5) / w) * W - bw / 2)));
    const y0 = Math.min(H - bh, Math.max(0, Math.round(((y + 0.5) / h) * H - bh / 2)));
    const rgba = new Uint8Array(bw * bh * 4);
    for (let r = 0; r < bh; r++) {
      for (let c = 0; c < bw; c++) {
        const s = ((y0 + r) * W + x0 + c) * 3, d = (r * bw + c) * 4;
        rgba[d] = rgb[s];
        rgba[d + 1] = rgb[s + 1];
        rgba[d + 2] = rgb[s + 2];
        rgba[d + 3] = 255;
      }
    }
    const crop = engine.imageFromRGBA(rgba, bw, bh);
    const small = crop.resize(CROP.size, CROP.size);
    crop.free();
    const png = engine.encodePNG(small.rgb(), CROP.size, CROP.size, 3);
    small.free();
    return { png, box: [x0, y0, bw, bh] };
  } finally {
    im.free();
  }
}
