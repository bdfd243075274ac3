/** Small text helpers for the CLI's human output. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export const count = (n: number): string => n.toLocaleString('en-US');

export function duration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : ms < 60_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/** A progress line on stderr that rewrites itself on a terminal and prints plainly elsewhere. */
export function progress(label: string): { update(text: string): void; done(text: string): void } {
  const tty = process.stderr.isTTY === true;
  const started = Date.now();
  return {
    update(text: string) {
      if (tty) process.stderr.write(`\r${label} ${text}\u001b[K`);
    },
    done(text: string) {
      const msg = `${label} ${text} (${duration(Date.now() - started)})`;
      process.stderr.write(tty ? `\r${msg}\u001b[K\n` : `${msg}\n`);
    },
  };
}
