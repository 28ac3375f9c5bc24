// shard.mjs — which part of an atlas this process renders: its shard, from
// --shard or from the variables of the job runner that started it, and the
// units that shard owns. Shards own interleaved units (unit k belongs to shard
// k mod N), so each gets every layer's share and they take about the same time.
//
//   const shard = readShard({ shard: '2/3' }, process.env);  // { index: 1, count: 3, source: '--shard 2/3' }
//   const mine = units.filter((u, k) => owns(shard, k));
//
// Where the shard comes from, first match wins (indices are 1-based in --shard,
// as GNU parallel's {#} and $PARALLEL_SEQ count; `index` here is 0-based):
//   --shard I/N                                  1 ≤ I ≤ N
//   Slurm job array    SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_MIN, SLURM_ARRAY_TASK_STEP (default 1),
//                      SLURM_ARRAY_TASK_COUNT: shard (ID − MIN) / STEP of COUNT (--array=0-9, 1-10, 0-18:2)
//   Kubernetes         JOB_COMPLETION_INDEX (0-based, an Indexed Job) of --shard-count N or
//                      $FEATVIZ_SHARDS (the Job's spec.completions: the pod cannot see it)
//   GNU parallel       PARALLEL_SEQ (1-based) of --shard-count N or $FEATVIZ_SHARDS (without a count it is
//                      ignored: parallel may run whole atlases side by side)
//   none of these      1/1: the whole atlas
// A variable that cannot be a shard (an id outside the array, an index past the count) is an
// error naming it, never a guess: a wrong guess renders some units twice and others never.

export class ShardError extends Error {}

const whole = (text) => (/^\s*\d+\s*$/.test(String(text)) ? Number(text) : NaN);

/** The shard of this process: { index (0-based), count, source (what set it, for messages) }. */
export function readShard({ shard, shardCount } = {}, env = {}) {
  let count = shardCount === undefined ? undefined : whole(shardCount);
  if (shardCount !== undefined && !(count >= 1)) throw new ShardError(`--shard-count must be a whole number ≥ 1, got "${shardCount}"`);
  let countFrom = '--shard-count';
  if (count === undefined && env.FEATVIZ_SHARDS !== undefined && env.FEATVIZ_SHARDS !== '') {
    count = whole(env.FEATVIZ_SHARDS);
    countFrom = 'FEATVIZ_SHARDS';
    if (!(count >= 1)) throw new ShardError(`FEATVIZ_SHARDS must be a whole number ≥ 1, got "${env.FEATVIZ_SHARDS}"`);
  }

  if (shard !== undefined) {
    const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(shard);
    const [i, n] = m ? [Number(m[1]), Number(m[2])] : [];
    if (!m || n < 1 || i < 1 || i > n) throw new ShardError(`--shard must be I/N with 1 ≤ I ≤ N (e.g. 2/3), got "${shard}"`);
    if (count !== undefined && count !== n) throw new ShardError(`--shard ${shard} says ${n} shards but ${countFrom} says ${count}`);
    return { index: i - 1, count: n, source: `--shard ${i}/${n}` };
  }

  if (env.SLURM_ARRAY_TASK_ID !== undefined) {
    const id = whole(env.SLURM_ARRAY_TASK_ID), min = whole(env.SLURM_ARRAY_TASK_MIN ?? 0);
    const step = whole(env.SLURM_ARRAY_TASK_STEP ?? 1), n = whole(env.SLURM_ARRAY_TASK_COUNT);
    const vars = `SLURM_ARRAY_TASK_ID=${env.SLURM_ARRAY_TASK_ID} MIN=${env.SLURM_ARRAY_TASK_MIN} STEP=${env.SLURM_ARRAY_TASK_STEP} COUNT=${env.SLURM_ARRAY_TASK_COUNT}`;
    if ([id, min, step, n].some(Number.isNaN) || step < 1 || n < 1) throw new ShardError(`a Slurm job array without a usable task id, min, step and count (${vars})`);
    const index = (id - min) / step;
    if (!Number.isInteger(index) || index < 0 || index >= n) {
      throw new ShardError(`Slurm array task ${id} is not one of ${n} tasks ${min}, ${min + step}, … (${vars}): ` +
        'give the array as a range, --array=0-N-1 (a list such as 1,5,9 cannot be counted), or --shard I/N');
    }
    if (count !== undefined && count !== n) throw new ShardError(`the Slurm job array has ${n} tasks but ${countFrom} says ${count}`);
    return { index, count: n, source: `Slurm job array task ${id} (${index + 1} of ${n})` };
  }

  if (env.JOB_COMPLETION_INDEX !== undefined) {
    const index = whole(env.JOB_COMPLETION_INDEX);
    if (Number.isNaN(index)) throw new ShardError(`JOB_COMPLETION_INDEX must be a whole number, got "${env.JOB_COMPLETION_INDEX}"`);
    if (count === undefined) {
      throw new ShardError(`JOB_COMPLETION_INDEX=${index} (a Kubernetes Indexed Job) needs the shard count: ` +
        '--shard-count N or FEATVIZ_SHARDS=N, the Job\'s spec.completions');
    }
    if (index >= count) throw new ShardError(`JOB_COMPLETION_INDEX=${index} is past the ${count} shards of ${countFrom}`);
    return { index, count, source: `Kubernetes completion index ${index} (${index + 1} of ${count})` };
  }

  if (env.PARALLEL_SEQ !== undefined && count !== undefined) {
    const seq = whole(env.PARALLEL_SEQ);
    if (!(seq >= 1) || seq > count) throw new ShardError(`PARALLEL_SEQ=${env.PARALLEL_SEQ} is not a shard 1..${count} (${countFrom})`);
    return { index: seq - 1, count, source: `GNU parallel job ${seq} of ${count}` };
  }

  if (count !== undefined && count !== 1) {
    throw new ShardError(`${countFrom} says ${count} shards, but nothing says which one this is (--shard I/N, or a job runner's index)`);
  }
  return { index: 0, count: 1, source: 'the whole atlas (no shard given)' };
}

/** Whether unit k (in the atlas's order) is the shard's. */
export const owns = (shard, k) => k % shard.count === shard.index;
