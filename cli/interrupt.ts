/**
 * Ctrl-C (SIGINT) and SIGTERM while cdc-ledger runs an execution. Nothing is left RUNNING by a
 * keypress: a stop request aborts the execution, which is then compensated (local/pipeline.ts); a
 * process killed before that finishes is recovered by the next start (local/interrupted.ts).
 */
export interface Interrupts {
  /** Aborted when the current execution must stop. */
  readonly signal: AbortSignal;
  /** How many stop requests (signals) arrived. */
  readonly count: () => number;
  dispose(): void;
}

/**
 * `steps[i]` runs at the (i+1)-th signal; a signal beyond them exits at once with 130 (the next start
 * recovers what was running). Each step says on stderr what happens now.
 */
export function onInterrupts(steps: readonly ((abort: () => void) => void)[]): Interrupts {
  const controller = new AbortController();
  let n = 0;
  const handler = (sig: NodeJS.Signals): void => {
    const step = steps[n++];
    if (step) step(() => controller.abort());
    else {
      console.error(`\n${sig} again: exiting now; the next cdc-ledger start marks the run ABORTED and compensates it`);
      process.exit(130);
    }
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    signal: controller.signal,
    count: () => n,
    dispose() {
      process.removeListener('SIGINT', handler);
      process.removeListener('SIGTERM', handler);
    },
  };
}

/** `run`, `runs redrive`: the first Ctrl-C aborts the execution (compensated), the second exits at once. */
export function stopRunOnInterrupt(): Interrupts {
  return onInterrupts([
    (abort) => {
      console.error('\nstopping: the run is aborted and what it left outside the ledger is compensated (Ctrl-C again exits at once)...');
      abort();
    },
  ]);
}
