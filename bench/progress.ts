/** Progress lines on stderr (stdout carries the report). Quiet when BENCH_QUIET is set (tests). */
export interface Progress {
  update(detail: string): void;
  done(detail: string): void;
}

export function progress(what: string): Progress {
  const quiet = process.env['BENCH_QUIET'] === '1';
  const tty = process.stderr.isTTY;
  const started = Date.now();
  if (!quiet && !tty) process.stderr.write(`${what}\n`);
  return {
    update(detail) {
      if (!quiet && tty) process.stderr.write(`\r\x1b[K${what} ${detail}`);
    },
    done(detail) {
      if (quiet) return;
      const s = ((Date.now() - started) / 1000).toFixed(1);
      process.stderr.write(`${tty ? '\r\x1b[K' : ''}${what} ${detail} (${s} s)\n`);
    },
  };
}
