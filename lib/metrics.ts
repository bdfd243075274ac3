/**
 * Operational metrics (namespace CdcLedger in CloudWatch; names the infra alarms and dashboard read).
 * Counts and durations only — never values. Powertools in AWS, kept in memory locally.
 */
export type MetricName = 'ChangesExtracted' | 'ChangesLoaded' | 'ChangesQuarantined' | 'ChangesAppended' | 'LagSeconds' | 'RunDuration';
export type MetricUnit = 'Count' | 'Seconds' | 'Milliseconds';

export interface Metrics {
  add(name: MetricName, unit: MetricUnit, value: number, dimensions?: Readonly<Record<string, string>>): void;
  /** Publishes what was added (at the end of each invocation). */
  flush(): void;
}

export interface RecordedMetric {
  readonly name: MetricName;
  readonly unit: MetricUnit;
  readonly value: number;
  readonly dimensions: Readonly<Record<string, string>>;
}

/** Keeps the most recent metrics in memory (the local runtime and tests). */
export class MemoryMetrics implements Metrics {
  readonly recorded: RecordedMetric[] = [];
  constructor(private readonly keep = 10_000) {}

  add(name: MetricName, unit: MetricUnit, value: number, dimensions: Readonly<Record<string, string>> = {}): void {
    this.recorded.push({ name, unit, value, dimensions });
    if (this.recorded.length > this.keep) this.recorded.splice(0, this.recorded.length - this.keep);
  }

  flush(): void {}

  total(name: MetricName): number {
    return this.recorded.filter((m) => m.name === name).reduce((n, m) => n + m.value, 0);
  }
}
