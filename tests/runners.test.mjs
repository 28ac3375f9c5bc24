// The atlas on the job runners people have, through the examples/ scripts as
// they are: a real single-node Slurm (munged, slurmctld and slurmd started and
// stopped here, tests/slurm-cluster.mjs) running examples/slurm-atlas.sbatch as a
// job array of 3 and the site as a job that waits for it; and GNU parallel running
// examples/parallel-atlas.sh with 3 shards, 2 at a time. Where Slurm cannot run,
// the test says exactly why and skips; the GNU parallel run is the same atlas.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, MODELS } from './paths.mjs';
import { CLI, MODEL, LAYERS, ALL_UNITS, tempDir, renderedIn, summary, readUnits } from './atlas-helpers.mjs';
import { whyNoSlurm, startCluster } from './slurm-cluster.mjs';

// the examples' settings (see their headers): the small layer set, few steps
const settings = (out) => ({
  FEATVIZ: `${process.execPath} ${CLI}`, FEATVIZ_MODELS: MODELS, FEATVIZ_ATLAS_MODEL: MODEL, FEATVIZ_ATLAS_LAYERS: LAYERS.join(','),
  FEATVIZ_ATLAS_OUT: out, FEATVIZ_ATLAS_FLAGS: '--size 48 --steps 96 --seed 3',
});

/** The atlas folder holds each unit once, and the shards' lines say each was rendered once. */
function assertEachUnitOnce(out, stderrs) {
  assert.deepEqual(stderrs.flatMap(renderedIn).sort(), [...ALL_UNITS].sort(), 'each unit rendered once, over all the shards');
  assert.deepEqual(readUnits(out).map((u) => u.key).sort(), [...ALL_UNITS].sort(), 'one manifest per unit');
}

test('a real Slurm (single node, started here) runs the atlas as a job array, then the site', { timeout: 900000 }, async (t) => {
  const why = await whyNoSlurm();
  if (why) {
    t.diagnostic(`Slurm cannot run on this machine: ${why}. The GNU parallel test runs the same atlas.`);
    t.skip(`no Slurm here: ${why}`);
    return;
  }
  let cluster;
  try {
    cluster = await startCluster();
  } catch (e) {
    t.diagnostic(`Slurm could not be started: ${e.message}\nThe GNU parallel test runs the same atlas.`);
    t.skip(`Slurm could not be started: ${e.message.split('\n')[0]}`);
    return;
  }
  try {
    const out = tempDir('slurm-atlas'), logs = tempDir('slurm-logs');
    const env = { ...cluster.env, ...settings(out) };
    const array = cluster.run('sbatch', ['--parsable', '--array=0-2', `--chdir=${ROOT}`, `--output=${join(logs, 'task-%a.out')}`,
      join(ROOT, 'examples', 'slurm-atlas.sbatch')], { env });
    assert.equal(array.code, 0, array.err);
    const job = array.out.trim().split(';')[0];
    const site = cluster.run('sbatch', ['--parsable', `--dependency=afterok:${job}`, `--chdir=${ROOT}`, `--output=${join(logs, 'site.out')}`,
      '--wrap', `${process.execPath} ${CLI} site ${out}`], { env });
    assert.equal(site.code, 0, site.err);
    await cluster.waitIdle();

    const tasks = [0, 1, 2].map((i) => readFileSync(join(logs, `task-${i}.out`), 'utf8'));
    tasks.forEach((text, i) => {
      assert.match(text, new RegExp(`\\(Slurm job array task ${i} \\(${i + 1} of 3\\)\\)`), `task ${i} found its shard in Slurm's variables:\n${text}`);
      const s = summary(text);
      assert.equal(s.failed, 0, text);
      assert.equal(s.rendered, s.units, text);
    });
    assertEachUnitOnce(out, tasks);
    for (const id of [0, 1, 2].map((i) => `${job}_${i}`)) {
      const show = cluster.run('scontrol', ['show', 'job', id], { env });
      assert.match(show.out, /JobState=COMPLETED/, `${id}: ${show.out}${show.err}`);
      assert.match(show.out, /ExitCode=0:0/);
    }
    const siteLog = readFileSync(join(logs, 'site.out'), 'utf8');
    assert.match(siteLog, /16 of 16 units rendered/, `the site job ran after the array:\n${siteLog}`);
    assert.ok(existsSync(join(out, 'index.html')));
  } catch (e) {
    e.message += `\n${cluster.logs()}`;
    throw e;
  } finally {
    await cluster.stop();
  }
});

test('GNU parallel runs the atlas in 3 shards, 2 at a time, then the site (examples/parallel-atlas.sh)', () => {
  const out = tempDir('parallel-atlas');
  const r = spawnSync('bash', [join(ROOT, 'examples', 'parallel-atlas.sh')], {
    cwd: ROOT, encoding: 'utf8', timeout: 600000, env: { ...process.env, ...settings(out), N: '3', J: '2' },
  });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const summaries = r.stdout.split('\n').filter((l) => /^featviz atlas \d\/3 /.test(l));
  assert.equal(summaries.length, 3, r.stdout);
  for (const i of [1, 2, 3]) assert.ok(summaries.some((l) => l.startsWith(`featviz atlas ${i}/3 (--shard ${i}/3)`)), r.stdout);
  assertEachUnitOnce(out, [r.stderr]);
  assert.match(r.stdout, /featviz site: .*16 of 16 units rendered/);
});
