/**
 * A child process that keeps the emulated ERP busy at a sustained rate (changes per second) on the
 * source database, with the real clock, so the freshness run measures the pipeline and not a load
 * generator competing for the pipeline's event loop.
 *
 * Forked with `node --import tsx bench/load-generator.ts`; messages: start → progress… → finished.
 */
import { openPostgres } from '../local/db/pg-driver';
import { simulateErpActivity } from '../local/source/simulator';

export interface LoadStart {
  readonly sourceUrl: string;
  readonly changesPerSecond: number;
  readonly seconds: number;
  readonly seed: number;
  /** Simulate in ticks of this many ms (default 250). */
  readonly tickMs?: number;
}

export type LoadReply =
  | { readonly kind: 'finished'; readonly changes: number; readonly transactions: number; readonly seconds: number; readonly lateTicks: number }
  | { readonly kind: 'failed'; readonly message: string };

async function generate(msg: LoadStart): Promise<LoadReply> {
  const db = await openPostgres(msg.sourceUrl);
  const tick = msg.tickMs ?? 250;
  const started = performance.now();
  let done = 0;
  let transactions = 0;
  let lateTicks = 0;
  let i = 0;
  try {
    for (;;) {
      const elapsed = (performance.now() - started) / 1000;
      if (elapsed >= msg.seconds) break;
      const due = Math.floor(Math.min(elapsed + tick / 1000, msg.seconds) * msg.changesPerSecond) - done;
      if (due > 0) {
        const r = await simulateErpActivity(db, { changes: due, seed: msg.seed + i++ });
        done += r.changes;
        transactions += r.transactions;
      }
      const next = started + (Math.floor((performance.now() - started) / tick) + 1) * tick;
      const wait = next - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      else lateTicks++;
    }
    return { kind: 'finished', changes: done, transactions, seconds: (performance.now() - started) / 1000, lateTicks };
  } finally {
    await db.close();
  }
}

if (require.main === module) {
  process.on('message', (msg: LoadStart) => {
    generate(msg).then(
      (r) => process.send?.(r, () => process.exit(0)),
      (err: unknown) => process.send?.({ kind: 'failed', message: err instanceof Error ? err.message : String(err) }, () => process.exit(1)),
    );
  });
}
