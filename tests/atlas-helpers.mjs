// atlas-helpers.mjs — what the atlas tests share (tests/atlas.test.mjs,
// tests/slurm.test.mjs, tests/browser/site.test.mjs): the small layer set they
// render, the CLI as a child process, and readers of what an atlas folder holds
// and what the shards said.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, existsSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { ROOT, MODELS, model, image } from './paths.mjs';

export const CLI = join(ROOT, 'bin/featviz.mjs');
export const MODEL = model('mobilenet_v1_0.25_128_quant.tflite');
// two whole layers of 8 channels (a name and a glob): 16 units. 512 steps at 64 px take
// a few tenths of a second a unit, long enough to kill a shard between two of them.
export const LAYERS = ['MobilenetV1/MobilenetV1/Conv2d_0/Relu6', 'MobilenetV1/MobilenetV1/Conv2d_1_depthwise/*'];
export const LAYER_NAMES = ['MobilenetV1/MobilenetV1/Conv2d_0/Relu6', 'MobilenetV1/MobilenetV1/Conv2d_1_depthwise/Relu6'];
export const CHANNELS = 8;
export const RENDER = ['--size', '64', '--steps', '512', '--seed', '7'];
export const PHOTOS = ['cat.bmp', 'dragonfly.bmp', 'grace_hopper.bmp', 'hot_dog.jpg', 'owl.jpg', 'parrot.jpg'];
export const TOP = 3;

export const atlasArgs = (out, photos, ...more) => [
  'atlas', MODEL, '--layers', LAYERS.join(','), '--out', out, ...RENDER, ...(photos ? ['--examples', photos, '--top', String(TOP)] : []), ...more,
];

/** A temporary folder with links to the store's photos; returns its path. */
export function photoFolder() {
  const dir = mkdtempSync(join(tmpdir(), 'fv-photos-'));
  for (const f of PHOTOS) symlinkSync(image(f), join(dir, f));
  return dir;
}

export const tempDir = (name) => mkdtempSync(join(tmpdir(), `fv-${name}-`));

/**
 * Starts the CLI; returns { child, done: Promise<{ code, signal, out, err }> }. onErr(line)
 * sees each stderr line as it comes (progress).
 */
export function startCli(args, { env = {}, onErr } = {}) {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env: { ...process.env, FEATVIZ_MODELS: MODELS, ...env } });
  let out = '', err = '', partial = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => {
    err += d;
    partial += d;
    const lines = partial.split('\n');
    partial = lines.pop();
    for (const l of lines) onErr?.(l, child);
  });
  const done = new Promise((ok) => child.on('close', (code, signal) => ok({ code, signal, out, err })));
  return { child, done };
}

export const cli = (args, opts) => startCli(args, opts).done;

/** The units a shard's stderr says it rendered: ['layer#channel', …]. */
export const renderedIn = (stderr) => [...stderr.matchAll(/: unit \d+ of \d+: (\S+) #(\d+) rendered in /g)].map((m) => `${m[1]}#${m[2]}`);

/** The summary line's counts: { units, rendered, skipped, failed }. */
export function summary(stdout) {
  const m = /: (\d+) units: (\d+) rendered, (\d+) already done, (\d+) failed/.exec(stdout);
  if (!m) throw new Error(`no summary line in:\n${stdout}`);
  return { units: Number(m[1]), rendered: Number(m[2]), skipped: Number(m[3]), failed: Number(m[4]) };
}

/** The unit manifests of an atlas folder: [{ id, m, key: 'layer#channel' }]. */
export function readUnits(dir) {
  const units = join(dir, 'units');
  return readdirSync(units).filter((f) => f.endsWith('.json') && !f.startsWith('.')).map((f) => {
    const m = JSON.parse(readFileSync(join(units, f), 'utf8'));
    return { id: f.slice(0, -5), m, key: `${m.unit.layer}#${m.unit.channel}` };
  });
}

/** Every unit of the small layer set as 'layer#channel', in the atlas's order. */
export const ALL_UNITS = LAYER_NAMES.flatMap((l) => Array.from({ length: CHANNELS }, (_, c) => `${l}#${c}`));

/**
 * Follows every local href and src from DIR/index.html: { pages: Set of page paths reached,
 * files: Set of every file linked, missing: [[from, to]], external: [urls] }.
 */
export function crawlSite(dir) {
  const root = resolve(dir), pages = new Set(), files = new Set(), missing = [], external = [];
  const todo = [join(root, 'index.html')];
  while (todo.length) {
    const page = todo.pop();
    if (pages.has(page)) continue;
    pages.add(page);
    const html = readFileSync(page, 'utf8');
    for (const [, url] of html.matchAll(/\s(?:href|src)="([^"]*)"/g)) {
      const u = url.replace(/&amp;/g, '&');
      if (/^[a-z]+:/i.test(u)) {
        if (!u.startsWith('data:')) external.push(u);
        continue;
      }
      const target = resolve(dirname(page), decodeURIComponent(u.split(/[?#]/)[0]));
      if (!existsSync(target)) missing.push([page.slice(root.length), target.slice(root.length)]);
      files.add(target);
      if (target.endsWith('.html') && existsSync(target)) todo.push(target);
    }
  }
  return { pages, files, missing, external };
}
