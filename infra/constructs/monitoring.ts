import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';

/** Namespace of the pipeline's own metrics (changes extracted / loaded / quarantined, lag, run duration). */
export const METRICS_NAMESPACE = 'CdcLedger';

export interface MonitoringProps {
  readonly stateMachine: sfn.StateMachine;
  readonly functions: readonly lambda.IFunction[];
  readonly topic: sns.ITopic;
  /** Alarm when the oldest unreplicated change is older than this. */
  readonly lagThresholdSeconds: number;
  /** Alarm when more than this share of the changes in an hour is quarantined (0..1). */
  readonly quarantineRateThreshold: number;
}

export class Monitoring extends Construct {
  readonly alarms: cloudwatch.Alarm[] = [];
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const sm = props.stateMachine;
    const five = Duration.minutes(5);
    const metric = (metricName: string, statistic = 'Sum', period = five): cloudwatch.Metric =>
      new cloudwatch.Metric({ namespace: METRICS_NAMESPACE, metricName, statistic, period });
    const lag = metric('LagSeconds', 'Maximum');
    const extracted = metric('ChangesExtracted');
    const loaded = metric('ChangesLoaded', 'Sum', Duration.hours(1));
    const quarantined = metric('ChangesQuarantined', 'Sum', Duration.hours(1));
    const quarantineRate = new cloudwatch.MathExpression({
      expression: 'IF((l + q) > 0, q / (l + q), 0)',
      usingMetrics: { l: loaded, q: quarantined },
      period: Duration.hours(1),
      label: 'quarantined share',
    });
    const alarm = (name: string, m: cloudwatch.IMetric, threshold: number, description: string, missing = cloudwatch.TreatMissingData.NOT_BREACHING): void => {
      const a = new cloudwatch.Alarm(this, name, {
        metric: m,
        threshold,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: missing,
        alarmDescription: description,
      });
      a.addAlarmAction(new actions.SnsAction(props.topic));
      this.alarms.push(a);
    };
    alarm('ExecutionsFailed', sm.metricFailed({ period: five, statistic: 'Sum' }), 0, 'A cdc-ledger run failed: cdc-ledger runs list --state-machine-arn …, fix, then redrive.');
    alarm('ExecutionsTimedOut', sm.metricTimedOut({ period: five, statistic: 'Sum' }), 0, 'A cdc-ledger run hit the execution timeout.');
    alarm('ReplicationLag', lag, props.lagThresholdSeconds, `The ledger is more than ${props.lagThresholdSeconds} s behind the source (CDC retention is 72 h by default).`, cloudwatch.TreatMissingData.BREACHING);
    alarm('QuarantineRate', quarantineRate, props.quarantineRateThreshold, `More than ${props.quarantineRateThreshold * 100}% of the changes in an hour were quarantined: see ledger.quarantine.`);

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      widgets: [
        [
          new cloudwatch.GraphWidget({
            title: 'Executions',
            left: [sm.metricSucceeded({ period: five }), sm.metricFailed({ period: five }), sm.metricTimedOut({ period: five }), sm.metricAborted({ period: five })],
            width: 12,
          }),
          new cloudwatch.GraphWidget({ title: 'Replication lag (s)', left: [lag], width: 12 }),
        ],
        [
          new cloudwatch.GraphWidget({ title: 'Changes', left: [extracted, metric('ChangesLoaded'), metric('ChangesQuarantined')], width: 12 }),
          new cloudwatch.GraphWidget({ title: 'Quarantined share', left: [quarantineRate], width: 6 }),
          new cloudwatch.GraphWidget({ title: 'Run duration (ms)', left: [metric('RunDuration', 'Maximum')], width: 6 }),
        ],
        [
          new cloudwatch.GraphWidget({ title: 'Lambda errors', left: props.functions.map((f) => f.metricErrors({ period: five })), width: 12 }),
          new cloudwatch.GraphWidget({ title: 'Lambda duration p99', left: props.functions.map((f) => f.metricDuration({ period: five, statistic: 'p99' })), width: 12 }),
        ],
        [new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 24 })],
      ],
    });
  }
}
