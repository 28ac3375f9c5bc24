// The learned prior on the page (web/prior.js) in Debian's Chromium: a render with the
// shipped prior gives the CLI's PNG bytes for the same manifest, and a prior is fitted in
// a worker on the photos the user opens (progress, cancel), then used by the next render.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openBrowser, dropFiles, download, skip, ROOT } from './helpers.mjs';
import { model, image } from '../paths.mjs';

const SHIPPED = join(ROOT, 'models', 'prior-store.bin');
let b, tmp;
before(async () => {
  if (skip) return;
  assert.ok(existsSync(SHIPPED), `${SHIPPED}: bash scripts/setup.sh makes it`);
  b = await openBrowser();
  tmp = mkdtempSync(join(tmpdir(), 'featviz-prior-browser-'));
});
after(async () => {
  await b?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

test('a render with the shipped prior gives the CLI\'s PNG bytes, and its manifest names the prior', { skip }, async () => {
  const out = join(tmp, 'cli.png');
  execFileSync(process.execPath, [
    join(ROOT, 'bin', 'featviz.mjs'), 'render', model('mobilenet_v2_1.0_224_quant.tflite'),
    '--layer', 'MobilenetV2/expanded_conv_5/add', '--channel', '7', '--size', '64', '--steps', '16', '--seed', '5', '--prior-weight', '3', '--out', out,
  ], { cwd: tmp, stdio: ['ignore', 'pipe', 'pipe'] });
  const cli = JSON.parse(readFileSync(join(tmp, 'cli.json'), 'utf8'));
  assert.equal(cli.prior.file, 'prior-store.bin');
  const o = cli.options;
  const q = new URLSearchParams({
    model: 'mobilenet_v2', layer: 'MobilenetV2/expanded_conv_5/add', expr: o.objective, size: '64', steps: '16', seed: '5',
  });
  const p = await b.page(`/web/?${q}`);
  await p.ready();
  assert.equal(await p.state(['done', 'error']), 'done', await p.page.textContent('#error-text'));
  const png = await download(p.page, '#export-png');
  const manifest = JSON.parse((await download(p.page, '#export-manifest')).bytes.toString('utf8'));
  assert.equal(manifest.options.objective, o.objective);
  assert.deepEqual(manifest.prior, cli.prior, 'the same prior file, sha256 and recipe');
  assert.ok(png.bytes.equals(readFileSync(out)), 'the page\'s PNG is the CLI\'s, byte for byte');
  await p.assertClean();
});

test('a prior fitted on the user\'s photos in a worker: progress, cancel, then a render uses it', { skip }, async () => {
  const p = await b.page('/web/?autostart=0&size=48&steps=8&prior=2');
  await p.ready();
  await dropFiles(p.page, '#photos-panel', ['cat.bmp', 'owl.jpg'].map((f) => ({ name: f, type: f.endsWith('.jpg') ? 'image/jpeg' : 'image/bmp', bytes: readFileSync(image(f)) })));
  await p.page.locator('#photos li.photo').nth(1).waitFor();
  // cancel one fit at its first progress
  await p.page.click('#prior-fit');
  await p.page.waitForFunction(() => /EM \d+\/\d+/.test(document.querySelector('#prior-status').textContent), null, { timeout: 60000 });
  await p.page.click('#prior-cancel');
  await p.page.waitForFunction(() => document.querySelector('#prior-status').dataset.state === 'cancelled', null, { timeout: 60000 });
  assert.equal(await p.page.locator('#prior-source option[value="photos"]').isDisabled(), true, 'no prior of the photos yet');
  // then a whole fit
  await p.page.click('#prior-fit');
  await p.page.waitForFunction(() => ['done', 'error'].includes(document.querySelector('#prior-status').dataset.state), null, { timeout: 240000 });
  assert.match(await p.page.textContent('#prior-status'), /Fitted on 2 photos \(sha256 [0-9a-f]{12}/);
  assert.equal(await p.page.inputValue('#prior-source'), 'photos');
  await p.page.click('#start');
  assert.equal(await p.state(['done', 'error']), 'done', await p.page.textContent('#error-text'));
  const manifest = JSON.parse((await download(p.page, '#export-manifest')).bytes.toString('utf8'));
  assert.equal(manifest.prior.file, 'prior-mine.bin');
  assert.match(manifest.options.objective, /- 2\*prior$/);
  assert.notEqual(manifest.prior.sha256, JSON.parse(readFileSync(join(tmp, 'cli.json'), 'utf8')).prior.sha256);
  await p.shot('page-prior-fitted');
  await p.assertClean();
});
