import { Metrics as PowertoolsMetrics, MetricUnit as PowertoolsUnit } from '@aws-lambda-powertools/metrics';
import type { MetricName, Metrics, MetricUnit } from '../metrics';

const UNITS: Record<MetricUnit, (typeof PowertoolsUnit)[keyof typeof PowertoolsUnit]> = {
  Count: PowertoolsUnit.Count,
  Seconds: PowertoolsUnit.Seconds,
  Milliseconds: PowertoolsUnit.Milliseconds,
};

/** Metrics as CloudWatch Embedded Metric Format through Powertools (namespace CdcLedger). */
export class PowertoolsMetricsSink implements Metrics {
  private readonly metrics = new PowertoolsMetrics({ namespace: 'CdcLedger', serviceName: 'cdc-ledger' });

  add(name: MetricName, unit: MetricUnit, value: number, dimensions: Readonly<Record<string, string>> = {}): void {
    if (Object.keys(dimensions).length === 0) {
      this.metrics.addMetric(name, UNITS[unit], value);
      return;
    }
    const single = this.metrics.singleMetric();
    for (const [k, v] of Object.entries(dimensions)) single.addDimension(k, v);
    single.addMetric(name, UNITS[unit], value);
  }

  flush(): void {
    this.metrics.publishStoredMetrics();
  }
}
