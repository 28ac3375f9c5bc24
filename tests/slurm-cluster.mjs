// slurm-cluster.mjs — a real single-node Slurm for the tests: Debian's munge and
// slurm-wlm, every daemon started here in a temporary folder of its own (its
// own munge socket, free ports, state, spool, logs), and stopped again by
// their process ids, whatever happened in between.
//
//   const why = whyNoSlurm();                 // null, or why Slurm cannot run on this machine
//   const c = await startCluster();           // throws an Error that says which daemon failed, and its log
//   c.run('sbatch', ['--parsable', ...]);     // a Slurm command against this cluster: { code, out, err }
//   await c.waitIdle();                       // until the queue is empty
//   await c.stop();                           // jobs cancelled, daemons shut down, the folder removed
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { lookup } from 'node:dns/promises';
import { hostname, tmpdir, cpus } from 'node:os';
import { join } from 'node:path';

const DAEMONS = ['munged', 'slurmctld', 'slurmd'];
const COMMANDS = ['sbatch', 'squeue', 'sinfo', 'scontrol', 'scancel'];
const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));
const which = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).stdout.trim();

/** Why a Slurm cannot run here (a sentence), or null. */
export async function whyNoSlurm() {
  if (process.getuid?.() !== 0) {
    return `this test runs as uid ${process.getuid?.()}, not root: slurmd must be root to start jobs, and munged runs as the munge user`;
  }
  const missing = [...DAEMONS, ...COMMANDS].filter((c) => !which(c));
  if (missing.length) return `${missing.join(', ')} not installed (scripts/setup.sh installs slurm-wlm and munge with apt-get)`;
  if (spawnSync('id', ['-u', 'munge']).status !== 0) return 'there is no munge user (Debian\'s munge package makes it)';
  if (!existsSync('/etc/munge/munge.key')) return 'there is no /etc/munge/munge.key (Debian\'s munge package makes it)';
  try {
    await lookup(hostname());
  } catch (e) {
    return `the host name "${hostname()}" does not resolve (${e.code}): slurmctld and slurmd find the controller and the node by it (add it to /etc/hosts)`;
  }
  return null;
}

/** Two free TCP ports (bound and released: the daemons take them a moment later). */
async function freePorts(n) {
  const servers = await Promise.all(Array.from({ length: n }, () => new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => ok(s));
  })));
  const ports = servers.map((s) => s.address().port);
  await Promise.all(servers.map((s) => new Promise((ok) => s.close(ok))));
  return ports;
}

const alive = (pid) => { try { process.kill(pid, 0); return true; } catch { return false; } };
const readPid = (f) => { try { return Number(readFileSync(f, 'utf8').trim()) || null; } catch { return null; } };
const tail = (f, n = 15) => { try { return readFileSync(f, 'utf8').trim().split('\n').slice(-n).join('\n'); } catch { return `(no ${f})`; } };

export async function startCluster() {
  // under /tmp, not $TMPDIR: the munge user must reach the socket through every parent
  // folder, and a socket's path has at most 107 bytes
  const dir = mkdtempSync(join(existsSync('/tmp') ? '/tmp' : tmpdir(), 'fv-slurm-'));
  chmodSync(dir, 0o755);
  const host = hostname();
  const munge = join(dir, 'munge'), socket = join(munge, 'munge.socket');
  const pids = { munged: join(munge, 'munged.pid'), slurmctld: join(dir, 'slurmctld.pid'), slurmd: join(dir, 'slurmd.pid') };
  const logs = { munged: join(munge, 'munged.log'), slurmctld: join(dir, 'slurmctld.log'), slurmd: join(dir, 'slurmd.log') };
  const conf = join(dir, 'slurm.conf');
  const env = { ...process.env, SLURM_CONF: conf };
  const started = new Set();

  const run = (cmd, args, opts = {}) => {
    const r = spawnSync(cmd, args, { encoding: 'utf8', env, timeout: 60000, ...opts });
    return { code: r.status, out: r.stdout ?? '', err: (r.stderr ?? '') + (r.error ? String(r.error) : '') };
  };
  const kill = (sig) => {
    for (const name of DAEMONS) {
      const pid = readPid(pids[name]);
      if (pid && started.has(name) && alive(pid)) try { process.kill(pid, sig); } catch { /* gone */ }
    }
  };
  // the test process may end without stop() (a crash, an uncaught error, a signal): leave no daemon behind
  const onExit = () => {
    kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  const onSignal = (sig) => {
    onExit();
    process.exit(128 + (sig === 'SIGINT' ? 2 : 15));
  };
  process.on('exit', onExit);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const c = {
    dir, conf, env, host, run,
    /** Waits until the queue is empty (the cluster's jobs are all done). */
    async waitIdle(timeoutMs = 600000) {
      const t0 = Date.now();
      for (;;) {
        const q = run('squeue', ['-h', '-o', '%i %T']);
        if (q.code === 0 && q.out.trim() === '') return;
        if (Date.now() - t0 > timeoutMs) throw new Error(`the queue did not empty in ${timeoutMs / 1000} s:\n${q.out}${q.err}`);
        await sleep(500);
      }
    },
    logs: () => DAEMONS.map((d) => `--- ${d} (${logs[d]}):\n${tail(logs[d])}`).join('\n'),
    async stop() {
      process.off('exit', onExit);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      if (started.has('slurmctld')) {
        const q = run('squeue', ['-h', '-o', '%i']);
        for (const id of q.out.split('\n').filter(Boolean)) run('scancel', [id]);
        run('scontrol', ['shutdown']);
      }
      if (started.has('munged')) run('munged', ['--stop', `--socket=${socket}`], { uid: mungeUid, gid: mungeGid });
      const t0 = Date.now();
      while (DAEMONS.some((d) => started.has(d) && alive(readPid(pids[d]))) && Date.now() - t0 < 20000) await sleep(200);
      kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };

  const mungeUid = Number(spawnSync('id', ['-u', 'munge'], { encoding: 'utf8' }).stdout);
  const mungeGid = Number(spawnSync('id', ['-g', 'munge'], { encoding: 'utf8' }).stdout);
  const fail = async (what) => {
    const e = new Error(`${what}\n${c.logs()}`);
    await c.stop();
    throw e;
  };

  // munged as the munge user, on a socket of its own (munged wants its folder executable by all)
  mkdirSync(munge);
  chownSync(munge, mungeUid, mungeGid);
  chmodSync(munge, 0o711);
  const m = run('munged', [`--socket=${socket}`, `--pid-file=${pids.munged}`, `--log-file=${logs.munged}`, `--seed-file=${join(munge, 'seed')}`],
    { uid: mungeUid, gid: mungeGid });
  if (m.code !== 0) await fail(`munged did not start (exit ${m.code}): ${m.err.trim()}`);
  started.add('munged');

  const [ctldPort, dPort] = await freePorts(2);
  for (const d of ['state', 'spool']) mkdirSync(join(dir, d));
  writeFileSync(conf, [
    'ClusterName=featviz', `SlurmctldHost=${host}`, `SlurmctldPort=${ctldPort}`, `SlurmdPort=${dPort}`,
    'SlurmUser=root', 'SlurmdUser=root', 'AuthType=auth/munge', 'CredType=cred/munge', `AuthInfo=socket=${socket}`,
    'ProctrackType=proctrack/linuxproc', 'TaskPlugin=task/none', 'SelectType=select/cons_tres', 'SelectTypeParameters=CR_Core',
    'JobAcctGatherType=jobacct_gather/none', 'AccountingStorageType=accounting_storage/none', 'MpiDefault=none',
    'ReturnToService=2', `StateSaveLocation=${join(dir, 'state')}`, `SlurmdSpoolDir=${join(dir, 'spool')}`,
    `SlurmctldPidFile=${pids.slurmctld}`, `SlurmdPidFile=${pids.slurmd}`,
    `SlurmctldLogFile=${logs.slurmctld}`, `SlurmdLogFile=${logs.slurmd}`,
    `NodeName=${host} CPUs=${cpus().length} State=UNKNOWN`,
    `PartitionName=featviz Nodes=${host} Default=YES MaxTime=INFINITE State=UP`, '',
  ].join('\n'));
  for (const d of ['slurmctld', 'slurmd']) {
    const r = run(d, ['-f', conf]);
    if (r.code !== 0) await fail(`${d} did not start (exit ${r.code}): ${r.err.trim()}`);
    started.add(d);
  }
  // the node comes up idle once slurmd has registered with slurmctld
  const t0 = Date.now();
  for (;;) {
    const s = run('sinfo', ['-h', '-o', '%t']);
    if (s.code === 0 && s.out.trim() === 'idle') break;
    if (Date.now() - t0 > 60000) await fail(`the node did not come up idle in 60 s (sinfo: ${(s.out + s.err).trim()})`);
    await sleep(300);
  }
  return c;
}
