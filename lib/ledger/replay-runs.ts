/** The run id of a quarantine replay of run `runId` (at most 80 characters): `replay-<run>-<time>`. */
export function replayRunId(runId: string, now: Date): string {
  return `${REPLAY_RUN_PREFIX}${runId}-${now.toISOString().replace(/[-:.]/g, '')}`.slice(0, 80);
}

export const REPLAY_RUN_PREFIX = 'replay-';

export function isReplayRunId(runId: string): boolean {
  return runId.startsWith(REPLAY_RUN_PREFIX);
}
