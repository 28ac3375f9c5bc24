// inputs.mjs — what the CLI's commands read, with the one-line errors a user
// sees: the model store, files, a model opened on the engine with its class
// labels, and the CLI's own whole-number flags. bin/featviz.mjs dispatches to
// the commands; they (featviz.mjs, atlas.mjs, site.mjs) share this.
//
//   const [modelPath, rest] = takeModel(positionals);     // a first positional that is a model file
//   const { engine, model, labels, choice } = await open(modelPath, readInputFlags(values));  // its input decided
//   const bytes = readInput(path, 'image');                // throws Error('image not found: …')
import { readFileSync, statSync, existsSync, readdirSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadEngine } from '../wasm/engine.js';
import { FvError, Catalog, parseLabels, isModelFile, readFlag } from '../wasm/options.js';
import { chooseInput, applyManifestInput } from '../wasm/input.js';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
// the repo's catalog names the default model and the labels file (the files are the store's)
export const CATALOG = new Catalog(JSON.parse(readFileSync(join(ROOT, 'models', 'catalog.json'), 'utf8')));
export const DEFAULT_MODEL = CATALOG.defaultFile;

/** A mistake in the command line (exit code 2); InputError from options.js is one too. */
export class UsageError extends Error {}

/** The model store: $FEATVIZ_MODELS, else the repo's models/ (laid out by npm start), else ../shared/models. */
export function modelsDir() {
  if (process.env.FEATVIZ_MODELS) return process.env.FEATVIZ_MODELS;
  const local = join(ROOT, 'models');
  if (existsSync(join(local, DEFAULT_MODEL))) return local;
  return resolve(ROOT, '..', 'shared', 'models');
}

/** The bytes of a file; what: its name in the message ("model", "image"). Throws an Error a user can read. */
export function readInput(path, what) {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new Error(`${what} not found: ${path}`);
  }
  if (st.isDirectory()) throw new Error(`${what} is a directory, not a file: ${path}`);
  try {
    return readFileSync(path);
  } catch (e) {
    throw new Error(`cannot read ${what} ${path}: ${e.code ?? e.message}`);
  }
}

/** The hex SHA-256 of bytes: a model's identity in manifests. */
export const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

/** The catalog with the labels file that sits beside the model (the store's), if any. */
function catalogBeside(modelPath) {
  const p = join(dirname(modelPath), CATALOG.labelsFile);
  return new Catalog(CATALOG.json, existsSync(p) ? parseLabels(readFileSync(p, 'utf8')) : []);
}

/** Splits positionals into [model path, rest]: a first positional that is a model file is the model. */
export function takeModel(positionals) {
  if (positionals[0] && isModelFile(positionals[0])) return [positionals[0], positionals.slice(1)];
  return [join(modelsDir(), DEFAULT_MODEL), positionals];
}

/** The store's photos for input detection: $FEATVIZ_IMAGES, else images/ beside the models, else models/photos. */
export function imagesDir() {
  if (process.env.FEATVIZ_IMAGES) return process.env.FEATVIZ_IMAGES;
  const beside = resolve(modelsDir(), '..', 'images');
  return existsSync(beside) ? beside : join(ROOT, 'models', 'photos');
}

/** The bytes of every photo in a folder, sorted by name ([] when there is none). */
function photosIn(dir) {
  try {
    return readdirSync(dir).filter((f) => /^\.(jpe?g|png|bmp|gif)$/i.test(extname(f))).sort().map((f) => readFileSync(join(dir, f)));
  } catch {
    return [];
  }
}

/**
 * The engine with the model at modelPath loaded and its input decided (wasm/input.js):
 * { engine, model, labels, bytes, choice }. want: { input, bgr } (readInputFlags), or
 * { manifest: a manifest's "input" record } (set as it is; choice null), or null (the file's
 * own, undecided: `featviz layers`). photos: the user's photos, tried with the store's when
 * the input has to be guessed; a guess is said on stderr. Labels the file carries win.
 */
export async function open(modelPath, want = { input: 'auto', bgr: false }, photos = []) {
  const engine = await loadEngine();
  const bytes = readInput(modelPath, 'model');
  let model;
  try {
    model = engine.loadModel(bytes);
  } catch (e) {
    if (e instanceof FvError) throw new Error(`${basename(modelPath)}: ${e.message}`);
    throw e;
  }
  const catalog = catalogBeside(modelPath);
  let choice = null;
  if (want?.manifest) applyManifestInput(model, want.manifest);
  else if (want) {
    const entry = catalog.models.find((m) => m.file === basename(modelPath));
    choice = chooseInput(engine, model, { ...want, catalog: catalog.preprocess(entry), photos: () => [...photos, ...photosIn(imagesDir())] });
    if (choice.guess) console.error(`featviz: ${basename(modelPath)}: ${choice.note}`);
  }
  return { engine, model, labels: catalog.labelsFor(model.layers(), model.labels), bytes, choice };
}

/** A whole-number flag of the CLI's own (not a render option: those are the engine's to range-check). */
export function intFlag(values, name, min) {
  const n = readFlag(values, name, 'int');
  if (n !== undefined && n < min) throw new UsageError(`--${name} must be at least ${min}, got ${n}`);
  return n;
}
