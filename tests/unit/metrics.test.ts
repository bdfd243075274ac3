import { MemoryMetrics } from '../../lib/metrics';
import { powertoolsLogger } from '../../lib/runtime/powertools-logger';
import { PowertoolsMetricsSink } from '../../lib/runtime/powertools-metrics';

describe('metrics', () => {
  it('publishes CloudWatch EMF in namespace CdcLedger through Powertools', () => {
    const lines: string[] = [];
    const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    const log = jest.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.map(String).join(' ')));
    try {
      const m = new PowertoolsMetricsSink();
      m.add('ChangesAppended', 'Count', 42);
      m.add('LagSeconds', 'Seconds', 7.5);
      m.flush();
    } finally {
      write.mockRestore();
      log.mockRestore();
    }
    const emf = lines.map((l) => l.trim()).filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(emf).toHaveLength(1);
    const doc = emf[0] as { _aws: { CloudWatchMetrics: { Namespace: string; Metrics: { Name: string; Unit: string }[] }[] }; ChangesAppended: number; LagSeconds: number };
    expect(doc._aws.CloudWatchMetrics[0]?.Namespace).toBe('CdcLedger');
    expect(doc._aws.CloudWatchMetrics[0]?.Metrics).toEqual(
      expect.arrayContaining([
        { Name: 'ChangesAppended', Unit: 'Count' },
        { Name: 'LagSeconds', Unit: 'Seconds' },
      ]),
    );
    expect(doc.ChangesAppended).toBe(42);
    expect(doc.LagSeconds).toBe(7.5);
  });

  it('keeps a bounded in-memory record locally', () => {
    const m = new MemoryMetrics(3);
    for (let i = 1; i <= 5; i++) m.add('ChangesLoaded', 'Count', i);
    expect(m.recorded.map((r) => r.value)).toEqual([3, 4, 5]);
    expect(m.total('ChangesLoaded')).toBe(12);
  });
});

describe('the Powertools logger adapter', () => {
  it('writes structured JSON with the service name and only the fields given', () => {
    const lines: string[] = [];
    const spies = (['log', 'info', 'warn', 'error', 'debug'] as const).map((k) =>
      jest.spyOn(console, k).mockImplementation((...a: unknown[]) => void lines.push(a.map(String).join(' '))),
    );
    const write = jest.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => (lines.push(String(c)), true));
    try {
      const log = powertoolsLogger('info');
      log.info('committed', { runId: 'r1', appended: 3 });
      log.debug('hidden', { x: 1 });
    } finally {
      spies.forEach((s) => s.mockRestore());
      write.mockRestore();
    }
    const docs = lines.map((l) => l.trim()).filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(docs).toHaveLength(1);
    expect(docs[0]).toMatchObject({ level: 'INFO', message: 'committed', service: 'cdc-ledger', runId: 'r1', appended: 3 });
  });
});
