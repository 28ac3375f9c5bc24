// site.mjs — `featviz site DIR`: the static site of an atlas folder (what the
// shards of `featviz atlas` wrote there, layout in bin/atlas-files.mjs): an
// index of the layers, a page per layer (the atlas grid) and a page per unit
// (its render, the diversity set, the top photos, the manifest and a link to the
// live page in that unit's state). Plain HTML and one stylesheet (web/site/site.css),
// no scripts, no inline styles: the pages carry the live page's
// Content-Security-Policy (bin/serve.mjs) in a <meta> tag, and DIR/_headers
// gives it to hosts that read such a file. Run it again as shards finish: it
// rewrites the pages from what is there, each page whole (atlas-files.mjs).
//
//   DIR/index.html                       the atlases (model and options) and their layers
//   DIR/atlas/ATLAS/LAYER.html           a layer's grid (LAYER: its index in the model)
//   DIR/atlas/ATLAS/LAYER/CHANNEL.html   a unit
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { stateUrl } from '../wasm/options.js';
import { CSP } from './serve.mjs';
import { ROOT, UsageError } from './inputs.mjs';
import { RUNS, UNITS, EXAMPLES, readJsonFiles, writeWhole } from './atlas-files.mjs';

const LIVE = 'http://127.0.0.1:8080/web/'; // what `npm start` serves

export const SITE_USAGE = `  site     DIR [--live URL]                         the static site of an atlas folder: DIR/index.html, a page
                                                    per layer and per unit; run it again as shards finish.
                                                    --live: the page unit links open (default ${LIVE})`;
// A <meta> policy cannot say frame-ancestors (browsers ignore it there, with a console
// message): that one comes only from a header (DIR/_headers, bin/serve.mjs).
const META_CSP = CSP.split(/;\s*/).filter((d) => !d.startsWith('frame-ancestors')).join('; ');

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);

/** A whole page: up is the path from it to DIR ('' or '../..'). */
function page({ title, up, crumbs, body }) {
  const root = up ? `${up}/` : '';
  const nav = crumbs.map(([text, href]) => (href ? `<a href="${esc(href)}">${esc(text)}</a>` : `<span>${esc(text)}</span>`)).join('');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${esc(META_CSP)}">
<title>${esc(title)}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${root}site.css">
</head>
<body>
<nav class="crumbs">${nav}</nav>
${body}
</body>
</html>
`;
}

/** The render options a page mentions, in words. */
function describe(state) {
  const parts = [`${state.size} px`, `${state.steps} steps`, `seed ${state.seed}`];
  if (state.batch > 1) parts.push(`batch ${state.batch}` + (state.diversity ? `, diversity ${state.diversity}` : ''));
  if (state.negative) parts.push('negative');
  if (state.param !== 'fft') parts.push(`${state.param} parameterization`);
  if (!state.decorrelate) parts.push('no decorrelation');
  if (!state.transforms) parts.push('no transforms');
  if (state.lr !== 0.05) parts.push(`lr ${state.lr}`);
  return parts.join(', ');
}

// ==== what the shards wrote ==========================================================================

/** The atlases of DIR: [{ id, run (the first run file's), layers: [{ index, name, channels, units: [c], done: Map c → unit }] }]. */
function readAtlases(dir, warn) {
  const atlases = new Map();
  for (const { json: run } of readJsonFiles(dir, RUNS, warn)) {
    if (!run.atlas || !Array.isArray(run.layers)) { warn(`${RUNS}: a file that is not an atlas run`); continue; }
    const a = atlases.get(run.atlas) ?? { id: run.atlas, run, layers: new Map(), sets: new Set() };
    atlases.set(run.atlas, a);
    if (run.examples) a.sets.add(run.examples.set);
    for (const l of run.layers) {
      const have = a.layers.get(l.index) ?? { index: l.index, name: l.name, channels: l.channels, units: new Set(), done: new Map() };
      for (const c of l.units) have.units.add(c);
      a.layers.set(l.index, have);
    }
  }
  // examples by (model, layer, channel, photo set)
  const examples = new Map();
  for (const { name, json: e } of readJsonFiles(dir, EXAMPLES, warn)) {
    examples.set(`${e.model?.sha256}|${e.layer}|${e.channel}|${e.photos}`, { id: name, ...e });
  }
  let orphans = 0;
  for (const { name, json: m } of readJsonFiles(dir, UNITS, warn)) {
    const u = m.unit, a = u && atlases.get(u.atlas), l = a?.layers.get(u.index);
    if (!l || !l.units.has(u.channel)) { orphans++; continue; }
    const ex = [...a.sets].map((set) => examples.get(`${m.model.sha256}|${u.layer}|${u.channel}|${set}`)).find(Boolean);
    l.done.set(u.channel, { id: name, manifest: m, examples: ex });
  }
  if (orphans) warn(`${orphans} manifest${orphans > 1 ? 's' : ''} in ${UNITS}/ belong to no atlas run in ${RUNS}/ (left out)`);
  return [...atlases.values()].map((a) => ({
    ...a, layers: [...a.layers.values()].sort((x, y) => x.index - y.index).map((l) => ({ ...l, units: [...l.units].sort((x, y) => x - y) })),
  }));
}

// ==== pages ==============================================================================================

const layerHref = (a, l) => `atlas/${a.id}/${l.index}.html`;
const unitHref = (a, l, c) => `atlas/${a.id}/${l.index}/${c}.html`;
const doneCount = (l) => l.units.filter((c) => l.done.has(c)).length;

function indexPage(atlases) {
  const sections = atlases.map((a) => {
    const total = a.layers.reduce((s, l) => s + l.units.length, 0), have = a.layers.reduce((s, l) => s + doneCount(l), 0);
    const rows = a.layers.map((l) => {
      const first = l.units.find((c) => l.done.has(c));
      const thumb = first === undefined ? '' : `<img src="${UNITS}/${esc(l.done.get(first).manifest.images[0])}" alt="" width="48" height="48">`;
      return `<tr><td>${thumb}</td><td><a href="${esc(layerHref(a, l))}">${esc(l.name)}</a></td><td class="count">${doneCount(l)} of ${l.units.length}` +
        `${l.units.length < l.channels ? ` (of ${l.channels} channels)` : ''}</td></tr>`;
    }).join('\n');
    return `<section>
<h2>${esc(a.run.model.file)}</h2>
<p class="meta">${esc(describe(a.run.state))} · sha256 <code>${esc(a.run.model.sha256.slice(0, 16))}…</code> · ${have} of ${total} units rendered</p>
<table class="layers"><thead><tr><th></th><th>layer</th><th>units</th></tr></thead>
<tbody>
${rows}
</tbody></table>
</section>`;
  });
  return page({
    title: 'featviz atlas', up: '', crumbs: [['featviz atlas', null]],
    body: `<h1>featviz atlas</h1>
<p class="meta">Every channel of these layers, rendered by <code>featviz atlas</code>. Open a layer for its grid, a channel for its render, its top photos and its manifest.</p>
${sections.join('\n')}`,
  });
}

function layerPage(a, l) {
  const cells = l.units.map((c) => {
    const u = l.done.get(c);
    if (!u) return `<li class="waiting"><span class="pending"></span>#${c}</li>`;
    return `<li><a href="${l.index}/${c}.html"><img src="../../${UNITS}/${esc(u.manifest.images[0])}" alt="channel ${c}" width="96" height="96">#${c}</a></li>`;
  }).join('\n');
  return page({
    title: `${l.name} — featviz atlas`, up: '../..',
    crumbs: [['featviz atlas', '../../index.html'], [a.run.model.file, '../../index.html'], [l.name, null]],
    body: `<h1>${esc(l.name)}</h1>
<p class="meta">${esc(a.run.model.file)} · layer ${l.index} · ${doneCount(l)} of ${l.units.length} units rendered · ${esc(describe(a.run.state))}</p>
<ul class="grid">
${cells}
</ul>`,
  });
}

function unitPage(a, l, c, u, live) {
  const m = u.manifest, up = '../../..';
  const img = (f, cls, w) => `<img class="${cls}" src="${up}/${UNITS}/${esc(f)}" alt="${esc(`${l.name} channel ${c}`)}" width="${w}" height="${w}">`;
  const variants = m.images.length > 1
    ? `<section><h2>The diversity set</h2><div class="variants">${m.images.slice(1).map((f) => img(f, 'variant', 150)).join('')}</div></section>` : '';
  const ex = u.examples;
  const photos = ex
    ? `<section><h2>Top photos</h2><p class="meta">${esc(ex.ranking)}; each cropped around the channel's strongest position</p><div class="photos">` +
      ex.top.map((p) => `<figure><img src="${up}/${EXAMPLES}/${esc(p.image)}" alt="${esc(p.file)}" width="96" height="96">` +
        `<figcaption>${esc(p.file)}<br>${p.score.toFixed(4)}</figcaption></figure>`).join('') + '</div></section>'
    : '';
  const entry = a.run.model.catalog;
  const url = entry && stateUrl({ ...a.run.state, model: entry, layer: l.name, channel: c }, new URL(live));
  const liveLink = url
    ? `<a class="live" href="${esc(url)}">Open on the live page</a>`
    : `<p class="meta">${esc(a.run.model.file)} is not in the catalog: open it on the live page yourself.</p>`;
  const i = l.units.indexOf(c), prev = l.units.slice(0, i).reverse().find((x) => l.done.has(x)), next = l.units.slice(i + 1).find((x) => l.done.has(x));
  const sib = (x, text) => (x === undefined ? '<span></span>' : `<a href="${x}.html">${text}</a>`);
  return page({
    title: `${l.name} #${c} — featviz atlas`, up,
    crumbs: [['featviz atlas', `${up}/index.html`], [a.run.model.file, `${up}/index.html`], [l.name, `../${l.index}.html`], [`#${c}`, null]],
    body: `<h1>${esc(l.name)} #${c}</h1>
<p class="meta">${esc(a.run.model.file)} · channel ${c} of ${l.channels} · objective ${Number(m.objective).toFixed(4)} · ${esc(describe(a.run.state))}</p>
<div class="unit">
<figure>${img(m.images.length > 1 ? m.images[1] : m.images[0], 'render', 320)}</figure>
<div>
${liveLink}
<p>These bytes again, in the atlas folder: <code>featviz render --manifest ${UNITS}/${esc(u.id)}.json</code></p>
</div>
</div>
${variants}
${photos}
<section><h2>Manifest</h2><p><a href="${up}/${UNITS}/${esc(u.id)}.json">${esc(u.id)}.json</a></p><pre>${esc(JSON.stringify(m, null, 2))}</pre></section>
<nav class="siblings">${sib(prev, `← #${prev}`)}${sib(next, `#${next} →`)}</nav>`,
  });
}

// ==== the command ========================================================================================

export async function cmdSite(args) {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { live: { type: 'string' } } });
  if (positionals.length !== 1) throw new UsageError('site needs one DIR (the --out of featviz atlas)');
  const dir = positionals[0];
  if (!existsSync(join(dir, RUNS))) throw new Error(`${dir} is not an atlas folder (no ${RUNS}/): run featviz atlas --out ${dir} first`);
  let live;
  try {
    live = new URL(values.live ?? LIVE).href;
  } catch {
    throw new UsageError(`--live must be a URL (the live page, e.g. https://your.host/web/), got "${values.live}"`);
  }
  const warn = (what, e) => process.stderr.write(`featviz site: ${e ? `skipping ${what}: ${e.message}` : what}\n`);
  const atlases = readAtlases(dir, warn);
  if (!atlases.length) throw new Error(`${dir}/${RUNS} holds no atlas run: run featviz atlas --out ${dir} first`);

  writeWhole(join(dir, 'site.css'), readFileSync(join(ROOT, 'web', 'site', 'site.css')));
  writeWhole(join(dir, '_headers'), `/*\n  Content-Security-Policy: ${CSP}\n  X-Content-Type-Options: nosniff\n`);
  let pages = 1, units = 0, total = 0;
  for (const a of atlases) {
    for (const l of a.layers) {
      mkdirSync(join(dir, 'atlas', a.id, String(l.index)), { recursive: true });
      writeWhole(join(dir, layerHref(a, l)), layerPage(a, l));
      pages++;
      total += l.units.length;
      for (const [c, u] of l.done) {
        writeWhole(join(dir, unitHref(a, l, c)), unitPage(a, l, c, u, live));
        pages++;
        units++;
      }
    }
  }
  writeWhole(join(dir, 'index.html'), indexPage(atlases));
  console.log(`featviz site: ${join(dir, 'index.html')}: ${pages} pages, ${units} of ${total} units rendered; ` +
    `serve it with node bin/serve.mjs ${dir}, or any static host sending the headers of ${join(dir, '_headers')}`);
}
