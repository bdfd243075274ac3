/**
 * For tests that call the CLI's `main` in-process: what it prints (console.log and console.error, one
 * entry per call), with stderr's progress lines silenced. Registers its own beforeEach/afterEach.
 */
export function captureCliOutput(): { text(): string; clear(): void } {
  let lines: string[] = [];
  beforeEach(() => {
    lines = [];
    jest.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
    jest.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
    jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  });
  afterEach(() => jest.restoreAllMocks());
  return {
    text: () => lines.join('\n'),
    clear: () => {
      lines = [];
    },
  };
}
