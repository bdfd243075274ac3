import type { ChunkStore } from '../chunks/port';
import type { PipelineConfig } from '../config/resolve';
import type { LedgerDb } from '../data-api/client';
import type { Faults } from '../faults';
import type { Logger } from '../log';
import type { DigestStore } from '../digests/port';
import type { Metrics } from '../metrics';
import type { CdcSource } from '../source/port';
import { buildRuntimeFromEnvironment } from './from-environment';

/**
 * Everything a handler talks to, created once per container (module scope) and injectable: the
 * local runner and tests set it with `setRuntime`; in AWS it is built from the environment on the
 * first invocation. Handlers never know which runtime they are in.
 */
export interface Runtime {
  readonly config: PipelineConfig;
  readonly db: LedgerDb;
  readonly source: CdcSource;
  readonly chunks: ChunkStore;
  /** Where Commit writes every run digest outside the database (S3 Object Lock / a folder). */
  readonly digests: DigestStore;
  readonly metrics: Metrics;
  readonly log: Logger;
  /** Crash points for rehearsals (local only; lib/faults.ts). */
  readonly faults?: Faults;
}

let injected: Runtime | undefined;
let built: Promise<Runtime> | undefined;

export function setRuntime(runtime: Runtime | undefined): void {
  injected = runtime;
  built = undefined;
}

export function getRuntime(): Promise<Runtime> {
  if (injected) return Promise.resolve(injected);
  built ??= buildRuntimeFromEnvironment(process.env).catch((err: unknown) => {
    built = undefined; // let the next invocation try again
    throw err;
  });
  return built;
}
