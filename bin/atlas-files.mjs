// atlas-files.mjs — the layout of an atlas folder, which `featviz atlas` shards
// write into and `featviz site` reads, and the one way files get there: whole or
// not at all (written to a hidden temporary name, flushed, then renamed).
//
//   DIR/runs/RUN.json          one per distinct atlas command (model, layers, options): what the units are
//   DIR/units/ID.json          a unit's render manifest (wasm/options.js), written last: the unit is done
//   DIR/units/ID.png           its PNG (the batch as a grid); ID-0.png … when the batch has several images
//   DIR/examples/EID.json      a unit's top photos (bin/examples.mjs): ranking, positions, crops
//   DIR/examples/EID-K.png     the crop around the strongest position in the K-th photo
// ID is the content id of what determines the render's pixels (manifestId), EID and RUN
// the content ids of theirs: a name is its content, so shards and re-runs never collide,
// and a finished file is never rewritten with anything else.
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export const RUNS = 'runs', UNITS = 'units', EXAMPLES = 'examples';

export const runPath = (dir, id) => join(dir, RUNS, `${id}.json`);
export const unitManifest = (dir, id) => join(dir, UNITS, `${id}.json`);
/** The PNG names of unit id with a batch of n images: the grid first, then each image when n > 1. */
export const unitImages = (id, n) => [`${id}.png`, ...(n > 1 ? Array.from({ length: n }, (_, i) => `${id}-${i}.png`) : [])];
export const examplesManifest = (dir, id) => join(dir, EXAMPLES, `${id}.json`);
export const exampleImage = (id, k) => `${id}-${k}.png`;

/** Makes DIR and its subfolders. */
export function makeAtlasDir(dir) {
  for (const sub of [RUNS, UNITS, EXAMPLES]) mkdirSync(join(dir, sub), { recursive: true });
}

/**
 * Writes bytes to path whole or not at all: to a hidden temporary name beside it (this
 * process's), flushed to disk, then renamed over path. A process killed half-way leaves
 * only the temporary file, which no reader takes for the real one (nor removes: it may be
 * another live process's; `.NAME.PID.tmp` says whose).
 */
export function writeWhole(path, bytes) {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  const fd = openSync(tmp, 'w');
  try {
    const buf = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
    for (let off = 0; off < buf.length;) off += writeSync(fd, buf, off, buf.length - off);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
  closeSync(fd);
  renameSync(tmp, path);
}

export const writeJson = (path, value) => writeWhole(path, JSON.stringify(value, null, 2) + '\n');

/** Whether a finished file is there (a temporary one never counts: it has another name). */
export const done = (path) => existsSync(path);

/**
 * The JSON files of DIR/sub as [{ name (without .json), json }], by name; hidden (temporary)
 * files skipped; a file that is not JSON is reported through onBad(name, error) and skipped.
 */
export function readJsonFiles(dir, sub, onBad = () => {}) {
  let names;
  try {
    names = readdirSync(join(dir, sub));
  } catch (e) {
    if (e.code === 'ENOENT') return [];
    throw e;
  }
  const out = [];
  for (const f of names.filter((n) => n.endsWith('.json') && !n.startsWith('.')).sort()) {
    try {
      out.push({ name: f.slice(0, -5), json: JSON.parse(readFileSync(join(dir, sub, f), 'utf8')) });
    } catch (e) {
      onBad(join(sub, f), e);
    }
  }
  return out;
}
