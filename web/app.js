// app.js — the page: pick a model, see its layers, classify a photo.
// The engine does the work; this file moves bytes and draws.
import { loadEngine } from '../wasm/engine.js';

const $ = (id) => document.getElementById(id);
let engine, model, labels = [];

function showError(e) {
  $('error').textContent = e ? String(e.message ?? e) : '';
  $('error').hidden = !e;
}

async function fetchBytes(url) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`cannot load ${url}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

async function selectModel(entry) {
  showError(null);
  $('model-info').textContent = `loading ${entry.title}…`;
  const bytes = await fetchBytes(`../models/${entry.file}`);
  model?.free();
  model = engine.loadModel(bytes);
  const inp = model.input;
  $('model-info').textContent = `${entry.title}: ${model.layerCount} layers, input ${inp.shape.slice(1).join('×')}`;
  const body = $('layers').tBodies[0];
  body.replaceChildren(...model.layers().map((l) => {
    const tr = document.createElement('tr');
    for (const v of [l.index, l.name, l.op, l.shape.slice(1).join('×')]) {
      const td = document.createElement('td');
      td.textContent = v;
      tr.append(td);
    }
    return tr;
  }));
}

async function classify(file) {
  showError(null);
  try {
    const top = engine.classify(model, new Uint8Array(await file.arrayBuffer()), 5);
    $('predictions').replaceChildren(...top.map(({ index, prob }) => {
      const li = document.createElement('li');
      li.textContent = `${labels[index] ?? index} — ${(100 * prob).toFixed(1)}%`;
      return li;
    }));
  } catch (e) {
    showError(e);
  }
}

async function main() {
  engine = await loadEngine();
  const catalog = await (await fetch('../models/catalog.json')).json();
  labels = (await (await fetch(`../models/${catalog.labels}`)).text()).split('\n');
  for (const m of catalog.models) $('model').append(new Option(m.title, m.id, m.id === catalog.default, m.id === catalog.default));
  $('model').addEventListener('change', () => selectModel(catalog.models.find((m) => m.id === $('model').value)).catch(showError));
  $('photo').addEventListener('change', () => $('photo').files[0] && classify($('photo').files[0]));
  const drop = $('drop');
  drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    if (e.dataTransfer.files[0]) classify(e.dataTransfer.files[0]);
  });
  await selectModel(catalog.models.find((m) => m.id === catalog.default));
}

main().catch(showError);
