/**
 * CPU accounting of a local PostgreSQL server and of the whole machine from /proc (Linux only), so
 * the report can say where the CPU went while the pipeline ran: PostgreSQL (all its processes,
 * including backends that exited: the postmaster's reaped-children time) versus everything else.
 */
import { readFileSync, readdirSync } from 'node:fs';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

interface ProcStat {
  readonly pid: number;
  readonly comm: string;
  readonly ppid: number;
  /** utime + stime, ticks */
  readonly own: number;
  /** cutime + cstime (reaped children), ticks */
  readonly children: number;
}

function readStat(pid: string): ProcStat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = text.lastIndexOf(')');
    const comm = text.slice(text.indexOf('(') + 1, close);
    const f = text.slice(close + 2).split(' ');
    const n = (i: number): number => Number(f[i] ?? 0);
    // fields after comm: state(0) ppid(1) … utime(11) stime(12) cutime(13) cstime(14)
    return { pid: Number(pid), comm, ppid: n(1), own: n(11) + n(12), children: n(13) + n(14) };
  } catch {
    return undefined;
  }
}

/** CPU seconds used so far by the PostgreSQL server on this machine, or undefined if none is visible. */
export function postgresCpuSeconds(): number | undefined {
  let stats: ProcStat[];
  try {
    stats = readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .map(readStat)
      .filter((s): s is ProcStat => s !== undefined && s.comm.startsWith('postgres'));
  } catch {
    return undefined;
  }
  const pids = new Set(stats.map((s) => s.pid));
  const postmaster = stats.find((s) => !pids.has(s.ppid));
  if (!postmaster) return undefined;
  const ticks = stats.reduce((a, s) => a + s.own, 0) + postmaster.children;
  return ticks / TICKS_PER_SECOND;
}

/** Busy CPU seconds of the whole machine so far (all cores: user + nice + system + irq + softirq + steal). */
export function machineCpuSeconds(): number | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    const busy = (f[0] ?? 0) + (f[1] ?? 0) + (f[2] ?? 0) + (f[5] ?? 0) + (f[6] ?? 0) + (f[7] ?? 0);
    return busy / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** The CPU seconds of the bench's own process (the runner and the local Data API server). */
export function selfCpuSeconds(): number {
  const u = process.resourceUsage();
  return (u.userCPUTime + u.systemCPUTime) / 1e6;
}

export interface CpuWindow {
  /** Seconds of wall time. */
  readonly wallSeconds: number;
  readonly machineSeconds?: number;
  readonly postgresSeconds?: number;
  /** This process: the state machine runner and the local Data API server. */
  readonly runnerAndDataApiSeconds: number;
}

export function startCpuWindow(): () => CpuWindow {
  const t0 = performance.now();
  const m0 = machineCpuSeconds();
  const p0 = postgresCpuSeconds();
  const s0 = selfCpuSeconds();
  return () => {
    const m1 = machineCpuSeconds();
    const p1 = postgresCpuSeconds();
    return {
      wallSeconds: (performance.now() - t0) / 1000,
      ...(m0 !== undefined && m1 !== undefined ? { machineSeconds: m1 - m0 } : {}),
      ...(p0 !== undefined && p1 !== undefined ? { postgresSeconds: p1 - p0 } : {}),
      runnerAndDataApiSeconds: selfCpuSeconds() - s0,
    };
  };
}
