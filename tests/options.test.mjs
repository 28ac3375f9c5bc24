// wasm/options.js, the rules the CLI, the worker, the page and <feature-vis> share:
// labels fitted to 1000- and 1001-class models (against the store's labels file),
// one state from a URL, from CLI flags and from element attributes giving the same
// render options, manifests written and read in one place.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  Labels, Catalog, parseLabels, readQuery, writeQuery, readFlags, readAttributes, renderOptions, makeManifest, readManifest,
  checkManifestModel, findLayer, defaultLayer, batchGrid, InputError, DEFAULTS, ATTRIBUTES, PRIOR_WEIGHT, wantsPrior,
} from '../wasm/options.js';
import { priorFileName, SHIPPED_PRIOR_NAME } from '../wasm/prior-fit.js';
import { ROOT, model } from './paths.mjs';

const LIST = parseLabels(readFileSync(model('imagenet_labels.txt'), 'utf8'));
const layersWith = (outputs) => [{ index: 0, name: 'conv', op: 'CONV_2D', shape: [1, 7, 7, 32] },
  { index: 1, name: 'logits', op: 'FULLY_CONNECTED', shape: [1, 1, 1, outputs] }];

test('labels: a 1001-output model keeps the background class, a 1000-output one drops it', () => {
  assert.equal(LIST.length, 1001);
  assert.equal(LIST[0], 'background');
  const with1001 = new Labels(LIST, 1001), with1000 = new Labels(LIST, 1000);
  assert.equal(with1001.name(89), LIST[89]);
  assert.match(with1001.name(89), /^macaw/);
  assert.equal(with1000.name(88), LIST[89], '1000 classes: output i is line i + 1');
  // the names the engine resolves class names from (tests/objective.test.mjs): output i of each model
  assert.equal(with1001.names.indexOf('macaw'), 89);
  assert.equal(with1000.names.indexOf('macaw'), 88);
  assert.equal(with1000.short(281), 'tabby');
  assert.equal(with1000.classes().length, 1000);
  assert.equal(with1001.classes().length, 1000, 'background is no class to pick');
  // a list that fits neither names nothing rather than the wrong thing
  const other = new Labels(LIST, 10);
  assert.equal(other.known, false);
  assert.equal(other.name(3), 'class 3');
  // a file's trailing newline is no class
  assert.equal(new Labels([...LIST, ''], 1001).name(89), LIST[89]);
});

test('the catalog fits its labels to the model and names its default', () => {
  const cat = new Catalog(JSON.parse(readFileSync(join(ROOT, 'models/catalog.json'), 'utf8')), LIST);
  assert.equal(cat.defaultFile, 'googlenet_bvlc_int8.onnx');
  assert.deepEqual(cat.entry('googlenet_int8').suggested, { layer: 'inception_4c/output', channel: 97 });
  assert.equal(cat.photos.length, 6, 'the store photos input detection runs');
  assert.equal(cat.preprocess(cat.entry('googlenet')), null, 'the file says its input');
  assert.deepEqual(cat.preprocess({ preprocess: 'caffe' }), { preset: 'caffe', bgr: false });
  assert.deepEqual(cat.preprocess({ preprocess: { preset: '0:255', bgr: true } }), { preset: '0:255', bgr: true });
  assert.equal(cat.labelsFor(layersWith(1000)).names.indexOf('macaw'), 88);
  assert.equal(cat.labelsFor(layersWith(1001)).names.indexOf('macaw'), 89);
  // labels a model file carries win when they fit (issue 10)
  assert.equal(cat.labelsFor(layersWith(2), ['cat', 'dog']).name(1), 'dog');
  assert.equal(cat.labelsFor(layersWith(1001), ['cat', 'dog']).names.indexOf('macaw'), 89);
  assert.throws(() => cat.entry('resnet_9000'), /unknown model "resnet_9000" \(the catalog has googlenet_int8, googlenet, mobilenet_v2/);
  const entry = cat.entry('mobilenet_v2');
  assert.equal(cat.suggestedChannel(entry, entry.suggested.layer), entry.suggested.channel);
  assert.equal(cat.suggestedChannel(entry, 'another'), 0);
});

test('the URL, CLI flags and element attributes describe the same render', () => {
  const url = readQuery('?model=mobilenet_v2&layer=L%2F8&ch=12&obj=neuron&x=3&neg=1&batch=2&div=5&size=64&steps=30&seed=7&param=pixel&decor=0&tf=0');
  const flags = readFlags({ layer: 'L/8', channel: '12', objective: 'neuron', x: '3', negative: true, batch: '2', diversity: '5',
    size: '64', steps: '30', seed: '7', param: 'pixel', 'no-decorrelate': true, 'no-transforms': true });
  const attrs = { model: 'mobilenet_v2', layer: 'L/8', channel: '12', objective: 'neuron', x: '3', negative: '', batch: '2',
    diversity: '5', size: '64', steps: '30', seed: '7', param: 'pixel', decorrelate: 'false', transforms: 'none' };
  const el = { getAttribute: (k) => attrs[k] ?? null, hasAttribute: (k) => k in attrs };
  const want = {
    size: 64, batch: 2, steps: 30, lr: 0.05, seed: 7, param: 'pixel', decorrelate: false, transforms: 'none',
    objective: [{ kind: 'neuron', weight: -1, layer: 'L/8', channel: 12, x: 3 }], diversity: 5,
  };
  assert.deepEqual(renderOptions(url), want);
  assert.deepEqual(renderOptions(flags), want);
  assert.deepEqual(renderOptions(readAttributes(el)), want);
  // the URL round-trips, and writes only what differs from the defaults
  assert.deepEqual(readQuery(writeQuery(url)), url);
  assert.equal(writeQuery({ ...DEFAULTS, model: 'm', layer: 'l' }), 'model=m&layer=l');
  // a class by name (the engine resolves it) or by index; a layer index given as digits
  assert.deepEqual(renderOptions(readFlags({ class: 'macaw' })).objective, [{ kind: 'class', weight: 1, class: 'macaw' }]);
  assert.deepEqual(renderOptions(readFlags({ class: '89' })).objective, [{ kind: 'class', weight: 1, class: 89 }]);
  assert.equal(readFlags({ layer: '12', channel: '1' }).layer, 12);
  // an expression, as a flag, in a link and as an attribute: passed to the engine as written
  const expr = 'L/8:12 - 100*diversity(L/8)';
  for (const s of [readFlags({ objective: expr }), readQuery(`?expr=${encodeURIComponent(expr)}`),
    readAttributes({ getAttribute: (k) => (k === 'objective' ? expr : null), hasAttribute: (k) => k === 'objective' })]) {
    assert.equal(renderOptions(s).objective, expr);
    assert.deepEqual(renderOptions({ ...s, tv: 2 }).objective, [expr, { kind: 'tv', weight: -2 }]);
  }
  assert.deepEqual(readQuery(writeQuery(readQuery(`?expr=${encodeURIComponent(expr)}&model=m&layer=l`))).expr, expr);
  // photos: a direction from one, and a caricature (Lucid's recipe: cossim 1)
  assert.deepEqual(renderOptions(readFlags({ objective: 'direction', layer: 'L', photo: 'p.jpg' })).objective,
    [{ kind: 'direction', weight: 1, layer: 'L', photo: 'p.jpg' }]);
  assert.deepEqual(renderOptions(readFlags({ caricature: 'p.jpg', layer: 'L' })).objective,
    [{ kind: 'caricature', weight: 1, layer: 'L', photo: 'p.jpg', cossim_pow: 1 }]);
});

test('types are checked here, ranges are left to the engine', () => {
  assert.throws(() => readFlags({ layer: 'l', channel: 'x' }), (e) => e instanceof InputError && /--channel must be a whole number, got "x"/.test(e.message));
  assert.throws(() => readFlags({ layer: 'l', channel: '1', lr: 'fast' }), /--lr must be a number, got "fast"/);
  assert.throws(() => readFlags({ channel: '1' }), /--objective channel needs --layer/);
  assert.throws(() => readFlags({ objective: 'class' }), /needs --class/);
  assert.throws(() => readFlags({ objective: 'caricature', layer: 'l' }), /--objective caricature needs --photo PHOTO/);
  assert.throws(() => readFlags({ caricature: 'p.jpg', objective: 'neuron' }), /--caricature PHOTO takes no --objective/);
  // out of range, but of the right type: the engine's to refuse (and an expression is the engine's to parse)
  assert.equal(readFlags({ layer: 'l', channel: '9999', size: '0' }).channel, 9999);
  assert.equal(readFlags({ objective: 'bogus', layer: '3' }).expr, 'bogus');
  const el = (a) => ({ getAttribute: (k) => a[k] ?? null, hasAttribute: (k) => k in a });
  assert.throws(() => readAttributes(el({ size: 'big' })), /size="big" is not a whole number/);
  assert.equal(readAttributes(el({ size: '5000', channel: ' 64 ' })).size, 5000);
  assert.equal(readAttributes(el({ channel: ' 64 ' })).channel, 64);
  assert.equal(readAttributes(el({})).channel, undefined, 'no channel: the catalog suggests one');
  assert.equal(readAttributes(el({})).steps, 256);
  assert.throws(() => readAttributes(el({ input: 'vgg' })), /input="vgg" is not one of auto, imagenet, caffe, 0:1, -1:1, 0:255/);
  assert.deepEqual((({ input, bgr }) => ({ input, bgr }))(readAttributes(el({ input: 'caffe', bgr: '' }))), { input: 'caffe', bgr: true });
  assert.deepEqual((({ input, bgr }) => ({ input, bgr }))(readAttributes(el({}))), { input: 'auto', bgr: false });
  // a bad value in a link is ignored, not an error
  assert.equal(readQuery('?size=big&ch=3').size, DEFAULTS.size);
});

test('the prior: attributes, flags and the URL give the same prior term; the names prior files go by', () => {
  const el = (a) => ({ getAttribute: (k) => a[k] ?? null, hasAttribute: (k) => k in a });
  const base = { layer: 'L', channel: '3' };
  const term = (w) => [{ kind: 'channel', weight: 1, layer: 'L', channel: 3 }, { kind: 'prior', weight: -w }];
  assert.ok(ATTRIBUTES.includes('prior') && ATTRIBUTES.includes('prior-weight'), 'a change of either re-renders the element');
  // a weight, with a prior named or not
  assert.deepEqual(renderOptions(readAttributes(el({ ...base, prior: 'store', 'prior-weight': '2.5' }))).objective, term(2.5));
  assert.deepEqual(renderOptions(readFlags({ ...base, prior: 'p.bin', 'prior-weight': '2.5' })).objective, term(2.5));
  assert.deepEqual(renderOptions(readQuery('?layer=L&ch=3&prior=2.5')).objective, term(2.5));
  assert.deepEqual(renderOptions(readAttributes(el({ ...base, 'prior-weight': '2.5' }))).objective, term(2.5));
  // a prior named without a weight: the default weight, as --prior alone
  assert.deepEqual(renderOptions(readAttributes(el({ ...base, prior: '/priors/mine.bin' }))).objective, term(PRIOR_WEIGHT));
  assert.deepEqual(renderOptions(readFlags({ ...base, prior: 'p.bin' })).objective, term(PRIOR_WEIGHT));
  assert.equal(readAttributes(el({ ...base, prior: ' /priors/mine.bin ' })).priorSource, '/priors/mine.bin');
  assert.equal(readAttributes(el(base)).priorSource, '');
  assert.equal(readAttributes(el({ ...base, prior: 'store', 'prior-weight': '0' })).prior, 0, 'weight 0: no prior');
  assert.throws(() => readAttributes(el({ ...base, 'prior-weight': 'lots' })), /prior-weight="lots" is not a number/);
  // whether a render reads a prior: its weight or a prior term of its expression (not a layer named prior)
  assert.equal(wantsPrior({ prior: 1 }), true);
  assert.equal(wantsPrior({ prior: 0, expr: 'L:3 - 4*prior' }), true);
  assert.equal(wantsPrior({ prior: 0, expr: 'prior:3' }), false);
  assert.equal(wantsPrior({ prior: 0, expr: '' }), false);
  // file names: a fit by its sha256's first 12 hex digits; the shipped one
  assert.equal(priorFileName('0123456789abcdef'.repeat(4)), 'prior-0123456789ab.bin');
  assert.equal(SHIPPED_PRIOR_NAME, 'prior-store.bin');
});

test('layers: by name or index, and the default a page opens on', () => {
  const layers = [...Array(9)].map((_, i) => ({ index: i, name: `l${i}`, op: i % 2 ? 'ADD' : 'CONV_2D', shape: [1, 8, 8, i ? 16 : 1] }));
  assert.equal(findLayer(layers, 'l4'), 4);
  assert.equal(findLayer(layers, '4'), 4);
  assert.equal(findLayer(layers, 9), -1);
  assert.equal(findLayer(layers, 'nope'), -1);
  assert.equal(defaultLayer(layers, { suggested: { layer: 'l2' } }), 2);
  assert.equal(defaultLayer(layers, undefined), 5, 'the last conv/add before two thirds of the depth');
  assert.deepEqual(batchGrid(64, 3), { cols: 2, rows: 2, gap: 2, w: 130, h: 130 });
});

test('manifests: written and read in one place', () => {
  const options = { size: 64, steps: 10, seed: 1, objective: [{ kind: 'layer', layer: 'l' }] };
  const m = makeManifest({ version: '0.1.0', file: 'm.tflite', sha256: 'ab', options, stepsDone: 7, objective: 1.5, images: ['a.png'] });
  assert.deepEqual(Object.keys(m), ['featviz', 'model', 'options', 'objective', 'images']);
  assert.equal(m.options.steps, 7, 'steps: the steps done, so the manifest reproduces the image shown');
  assert.deepEqual(Object.keys(m.options), Object.keys(options), 'the options keep their order');
  assert.deepEqual(readManifest(JSON.stringify(m), 'm.json'), m);
  assert.throws(() => readManifest('{ not json', 'bad.json'), /bad\.json is not JSON/);
  assert.throws(() => readManifest('{"hello": 1}', 'x.json'), /x\.json is not a featviz render manifest/);
  assert.throws(() => checkManifestModel(m, 'cd', 'm.tflite'), /sha256 differs/);
  checkManifestModel(m, 'ab', 'm.tflite');
});
