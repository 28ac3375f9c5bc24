// torchvision's classification architectures (0.14, Debian's python3-torchvision)
// exported to ONNX with seeded random weights by scripts/torchvision_models.py
// (at test time, cached in build/torchvision/), run by featviz and checked logit
// for logit against PyTorch's own numbers for the same photo
// (tests/golden/torchvision/logits.json, made by the same script's `golden`).
// The architectures featviz does not run are refused with the op named.
// FEATVIZ_TORCH_TESTS=0 skips them (no PyTorch on the machine).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { loadEngine, FvError, STATUS } from '../wasm/engine.js';
import { ROOT } from './paths.mjs';

const SKIP = process.env.FEATVIZ_TORCH_TESTS === '0' && 'FEATVIZ_TORCH_TESTS=0';
const OUT = join(ROOT, 'build/torchvision');
const GOLDEN = JSON.parse(readFileSync(join(ROOT, 'tests/golden/torchvision/logits.json'), 'utf8'));
const { mean: MEAN, std: STD } = GOLDEN.normalization;

let fv;
before(async () => {
  if (SKIP) return;
  // the models and photos, made (or found cached) by the export script
  const r = spawnSync('/usr/bin/python3', [join(ROOT, 'scripts/torchvision_models.py'), 'export', OUT],
    { encoding: 'utf8', timeout: 900_000 });
  assert.equal(r.status, 0, `scripts/torchvision_models.py export: ${r.stderr.slice(-2000)}`);
  fv = await loadEngine();
});

for (const [arch, g] of Object.entries(GOLDEN.models)) {
  test(`${arch} (opset ${g.opset}${g.keep_bn ? ', BatchNormalization kept' : ''}, ${g.size}²): logits equal PyTorch's`, { skip: SKIP }, () => {
    const meta = JSON.parse(readFileSync(join(OUT, `${arch}.json`), 'utf8'));
    // the same random weights and photo as the golden numbers were made from
    assert.ok(Math.abs(meta.weights_sum - g.weights_sum) <= 1e-9 * Math.max(1, Math.abs(g.weights_sum)),
      `weights differ from the golden's (${meta.weights_sum} vs ${g.weights_sum}): has torch's RNG changed?`);
    assert.equal(meta.image_sha256, g.image_sha256, 'photo');
    const m = fv.loadModel(readFileSync(join(OUT, `${arch}.onnx`)));
    try {
      assert.equal(m.input.source, '', 'a torch export says nothing about its input');
      // torchvision's normalization, (p/255 − mean)/std, as the golden numbers used
      m.setInput({ bgr: false, scale: STD.map((s) => 1 / (255 * s)), offset: MEAN.map((mu, k) => -mu / STD[k]), source: 'imagenet' });
      assert.deepEqual(m.input.shape, [1, g.size, g.size, 3]);
      const inf = fv.infer(m);
      inf.runImage(readFileSync(join(OUT, `${arch}.bmp`)));
      const { data } = inf.layer(m.layerCount - 1);
      inf.free();
      assert.equal(data.length, g.logits.length);
      let worst = 0, scale = 0, top = 0, ref = 0;
      for (let k = 0; k < data.length; k++) {
        scale = Math.max(scale, Math.abs(g.logits[k]));
        worst = Math.max(worst, Math.abs(data[k] - g.logits[k]));
        if (data[k] > data[top]) top = k;
        if (g.logits[k] > g.logits[ref]) ref = k;
      }
      // float32 in another summation order through up to 500 layers: the worst seen is 1.6e-6 of the
      // largest logit (tests/golden/README.md); a wrong layout or weight is off by 1e-1 or more
      assert.ok(worst <= 1e-5 * scale, `max |featviz − PyTorch| ${worst.toExponential(2)} of max |logit| ${scale.toFixed(3)}`);
      assert.equal(top, ref, 'top-1');
    } finally {
      m.free();
    }
  });
}

for (const arch of GOLDEN.refused) {
  test(`${arch}: refused, naming the op and the node`, { skip: SKIP }, () => {
    assert.ok(existsSync(join(OUT, `${arch}.onnx`)));
    assert.throws(() => fv.loadModel(readFileSync(join(OUT, `${arch}.onnx`))),
      (e) => e instanceof FvError && e.code === STATUS.UNSUPPORTED && /^unsupported ONNX op \w+ at node \d+ "[^"]+"$/.test(e.message));
  });
}
