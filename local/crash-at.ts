import { CRASH_POINTS, type CrashPoint, type Faults } from '../lib/faults';

/**
 * CDC_LEDGER_CRASH_AT=<point>[:<n>]: the process kills itself with SIGKILL the n-th time (default the
 * first) it passes a crash point of lib/faults.ts — a crash at that instant, for game days and the
 * crash tests. Unset: no crash point does anything.
 */
export function parseCrashAt(text: string | undefined): Faults | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const m = /^([A-Za-z]+:[a-z-]+)(?::(\d+))?$/.exec(text.trim());
  const point = m?.[1];
  if (!m || !point || !(CRASH_POINTS as readonly string[]).includes(point)) {
    throw new Error(`CDC_LEDGER_CRASH_AT: ${JSON.stringify(text)} is not <point>[:<n>] with a point of ${CRASH_POINTS.join(', ')}`);
  }
  let left = Number(m[2] ?? 1);
  return {
    at(p: CrashPoint) {
      if (p !== point || --left !== 0) return;
      process.stderr.write(`CDC_LEDGER_CRASH_AT: crashing at ${p} (SIGKILL)\n`);
      process.kill(process.pid, 'SIGKILL');
    },
  };
}
