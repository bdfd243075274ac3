import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subs from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';

export interface NotificationsProps {
  readonly email?: string;
}

/** The KMS-encrypted, SSL-only SNS topic the state machine, the status rule and the alarms publish to. */
export class Notifications extends Construct {
  readonly topic: sns.Topic;
  readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: NotificationsProps) {
    super(scope, id);
    this.key = new kms.Key(this, 'Key', { enableKeyRotation: true, description: 'cdc-ledger notifications topic' });
    // EventBridge (status rule) and CloudWatch (alarms) publish to the encrypted topic.
    for (const service of ['events.amazonaws.com', 'cloudwatch.amazonaws.com']) {
      this.key.addToResourcePolicy(
        new iam.PolicyStatement({
          principals: [new iam.ServicePrincipal(service)],
          actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          resources: ['*'], // a key policy's resource is always the key itself
        }),
      );
    }
    this.topic = new sns.Topic(this, 'Topic', { masterKey: this.key, enforceSSL: true, displayName: 'cdc-ledger' });
    if (props.email) this.topic.addSubscription(new subs.EmailSubscription(props.email));
  }

  /**
   * Uncatchable ends (States.Runtime, timeouts, aborts) skip the catch path: an EventBridge rule on
   * "Step Functions Execution Status Change" sends them to the topic. The event's detail carries no
   * error field to match on, so executions that ended in RunFailed (already announced by
   * NotifyFailure) are sent too — see docs/deploy.md.
   */
  addExecutionStatusRule(stateMachine: sfn.IStateMachine): events.Rule {
    const rule = new events.Rule(this, 'ExecutionStatusRule', {
      description: 'cdc-ledger executions that ended FAILED, TIMED_OUT or ABORTED',
      eventPattern: {
        source: ['aws.states'],
        detailType: ['Step Functions Execution Status Change'],
        detail: { status: ['FAILED', 'TIMED_OUT', 'ABORTED'], stateMachineArn: [stateMachine.stateMachineArn] },
      },
    });
    rule.addTarget(
      new targets.SnsTopic(this.topic, {
        message: events.RuleTargetInput.fromText(
          `cdc-ledger execution ${events.EventField.fromPath('$.detail.status')}: ${events.EventField.fromPath('$.detail.name')} ` +
            `(${events.EventField.fromPath('$.detail.executionArn')}). Show it: cdc-ledger runs show ${events.EventField.fromPath('$.detail.name')} --state-machine-arn ${events.EventField.fromPath('$.detail.stateMachineArn')}`,
        ),
      }),
    );
    return rule;
  }
}
