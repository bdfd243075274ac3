import type { LocalEnvironment } from './environment';
import { localTopicArn } from './runner/definition';
import type { ExecutionRecord } from './runner/history';

/** A word as a POSIX shell reads it back (quoted only when it needs to be). */
export function shellWord(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * The local stand-in for the EventBridge rule on "Execution Status Change" (FAILED, TIMED_OUT,
 * ABORTED) that publishes to the notification topic: uncatchable failures (States.Runtime, data
 * limit, timeouts, aborts) reach the outbox too. A `RunFailed` execution is skipped: the state
 * machine's NotifyFailure already announced it (one message per caught failure; the AWS rule
 * filters the same way).
 */
export function terminalNotifier(env: Pick<LocalEnvironment, 'outbox' | 'dataDir'>): (record: ExecutionRecord) => Promise<void> {
  return async (record) => {
    if (record.error === 'RunFailed') return;
    const event = `Execution${record.status === 'TIMED_OUT' ? 'TimedOut' : record.status === 'ABORTED' ? 'Aborted' : 'Failed'}`;
    await env.outbox.publish({
      topicArn: localTopicArn(),
      subject: `cdc-ledger execution ${record.status}`,
      message: JSON.stringify({
        executionArn: record.executionArn,
        name: record.name,
        status: record.status,
        error: record.error,
        cause: record.cause,
        redriveCount: record.redriveCount,
        redriveCommand: `cdc-ledger runs redrive ${shellWord(record.name)} --data-dir ${shellWord(env.dataDir)}`,
      }),
      attributes: { event },
    });
  };
}
