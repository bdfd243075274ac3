/**
 * A child process hosting ONE handler, like a warm Lambda container: it builds the same runtime the
 * local environment injects (Data API client to the parent's local Data API server, the emulated
 * source on the PostgreSQL server, the chunk and digest folders), then serves invocations one at a
 * time over IPC. `process.resourceUsage().maxRSS` of this process is the handler's peak RSS.
 *
 * bench/handler-pool.ts bundles `serveHandler(<the handler>)` per handler with esbuild, as the CDK
 * bundles each Lambda (CJS, minified, @aws-sdk/* external), and forks plain `node` on the bundle.
 */
import '../local/runner/polyfill';
import { parseConfig } from '../lib/config/load';
import { createLogger } from '../lib/log';
import { setRuntime } from '../lib/runtime/runtime';
import { openPostgres } from '../local/db/pg-driver';
import { localDataApi, localRuntime } from '../local/runtime-wiring';
import { EmulatedCdcSource } from '../local/source/emulated-source';
import type { HandlerName } from './handlers';

export interface HostInit {
  readonly kind: 'init';
  readonly handler: HandlerName;
  readonly configDoc: unknown;
  readonly dataDir: string;
  readonly sourceUrl: string;
  readonly dataApiEndpoint: string;
}
export interface HostInvoke {
  readonly kind: 'invoke';
  readonly id: number;
  readonly input: unknown;
}
export interface HostStats {
  readonly kind: 'stats';
}
export type HostRequest = HostInit | HostInvoke | HostStats;

export type HostReply =
  | { readonly kind: 'ready'; readonly rssBytes: number; readonly maxRssBytes: number }
  | { readonly kind: 'result'; readonly id: number; readonly ok: true; readonly output: unknown; readonly rssBytes: number }
  | { readonly kind: 'result'; readonly id: number; readonly ok: false; readonly error: { name: string; message: string; stack?: string } }
  | { readonly kind: 'stats'; readonly maxRssBytes: number; readonly rssBytes: number; readonly cpuUserMs: number; readonly cpuSystemMs: number }
  | { readonly kind: 'failed'; readonly message: string };

type Handler = (input: unknown) => Promise<unknown>;

function reply(msg: HostReply): void {
  process.send?.(msg);
}

let handler: Handler | undefined;

async function init(msg: HostInit, fn: Handler): Promise<void> {
  const config = parseConfig(msg.configDoc, 'bench config');
  const { db } = localDataApi(msg.dataApiEndpoint);
  const sourceDb = await openPostgres(msg.sourceUrl);
  setRuntime(localRuntime({ config, db, source: new EmulatedCdcSource(sourceDb), dataDir: msg.dataDir, log: createLogger('silent') }));
  handler = fn;
  reply({ kind: 'ready', rssBytes: process.memoryUsage.rss(), maxRssBytes: process.resourceUsage().maxRSS * 1024 });
}

/** Serves `fn` to the parent over IPC until the parent disconnects. */
export function serveHandler(fn: Handler): void {
  process.on('message', (msg: HostRequest) => onMessage(msg, fn));
  process.on('disconnect', () => process.exit(0));
}

function onMessage(msg: HostRequest, fn: Handler): void {
  if (msg.kind === 'init') {
    init(msg, fn).catch((err: unknown) => reply({ kind: 'failed', message: err instanceof Error ? `${err.name}: ${err.message}` : String(err) }));
  } else if (msg.kind === 'invoke') {
    const h = handler;
    if (!h) {
      reply({ kind: 'result', id: msg.id, ok: false, error: { name: 'Error', message: 'handler host not initialised' } });
      return;
    }
    h(msg.input).then(
      (output) => reply({ kind: 'result', id: msg.id, ok: true, output, rssBytes: process.memoryUsage.rss() }),
      (err: unknown) => {
        const e = err instanceof Error ? err : new Error(String(err));
        reply({ kind: 'result', id: msg.id, ok: false, error: { name: e.name, message: e.message, ...(e.stack ? { stack: e.stack } : {}) } });
      },
    );
  } else {
    const u = process.resourceUsage();
    reply({ kind: 'stats', maxRssBytes: u.maxRSS * 1024, rssBytes: process.memoryUsage.rss(), cpuUserMs: u.userCPUTime / 1000, cpuSystemMs: u.systemCPUTime / 1000 });
  }
}
