/**
 * Parent side of the per-handler processes: a pool of hosts per handler (one per concurrent
 * invocation, like Lambda containers), task functions for `runPipeline`'s `tasks` override, and the
 * timing of every invocation.
 */
import { build } from 'esbuild';
import { fork, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { LOCAL_TASKS } from '../local/pipeline';
import { HANDLER_MODULES, HANDLER_NAMES, MAP_CONCURRENCY, MAP_HANDLERS, handlerArn, type HandlerName } from './handlers';
import type { HostInit, HostReply, HostRequest } from './handler-host';

export interface Invocation {
  readonly handler: HandlerName;
  readonly startMs: number;
  readonly endMs: number;
  readonly ok: boolean;
  readonly output?: unknown;
}

type Task = (input: unknown) => Promise<unknown>;

/** Records every invocation (both modes). */
export class InvocationLog {
  readonly invocations: Invocation[] = [];
  wrap(handler: HandlerName, run: Task): Task {
    return async (input) => {
      const startMs = performance.now();
      try {
        const output = await run(input);
        this.invocations.push({ handler, startMs, endMs: performance.now(), ok: true, output });
        return output;
      } catch (err) {
        this.invocations.push({ handler, startMs, endMs: performance.now(), ok: false });
        throw err;
      }
    };
  }
  clear(): void {
    this.invocations.length = 0;
  }
}

const REPO_ROOT = resolve(__dirname, '..');

/**
 * One bundle per handler, built like the deployed Lambda (infra/constructs/pipeline-functions.ts:
 * CJS, minified, @aws-sdk/* external), so a process holds what a Lambda container holds. Unlike the
 * infra's bundling (as of writing) it keeps names: minified class names would turn every named
 * error into e.g. "I_" and no Retry/Catch would match.
 */
export async function bundleHandlers(outDir: string, handlers: readonly HandlerName[] = HANDLER_NAMES, minify = true): Promise<Record<HandlerName, string>> {
  await mkdir(outDir, { recursive: true });
  const out = {} as Record<HandlerName, string>;
  await Promise.all(
    handlers.map(async (h) => {
      const outfile = join(outDir, `${h}.js`);
      await build({
        stdin: {
          contents: `import { serveHandler } from './handler-host';\nimport { handler } from ${JSON.stringify(HANDLER_MODULES[h])};\nserveHandler(handler);\n`,
          resolveDir: __dirname,
          loader: 'ts',
          sourcefile: `${h}-entry.ts`,
        },
        bundle: true,
        platform: 'node',
        format: 'cjs',
        target: 'node20',
        minify,
        // lib/errors.ts names errors by `new.target.name`, which Retry/Catch match: keep class names
        keepNames: true,
        external: ['@aws-sdk/*'],
        outfile,
        logLevel: 'silent',
      });
      out[h] = outfile;
    }),
  );
  return out;
}

class Host {
  private readonly child: ChildProcess;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private statsWaiter: ((r: Extract<HostReply, { kind: 'stats' }>) => void) | undefined;
  readonly ready: Promise<void>;
  busy = false;
  exited = false;

  constructor(readonly handler: HandlerName, bundle: string, init: Omit<HostInit, 'kind' | 'handler'>, profileDir?: string, nodeOptions: readonly string[] = []) {
    this.child = fork(bundle, [], {
      execArgv: [...nodeOptions, ...(profileDir ? ['--cpu-prof', '--cpu-prof-dir', join(profileDir, handler)] : [])],
      // the bundle's external @aws-sdk/* come from the repository's node_modules (the Lambda runtime provides them in AWS)
      env: { ...process.env, NODE_PATH: join(REPO_ROOT, 'node_modules'), AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.ready = new Promise<void>((resolve, reject) => {
      this.child.on('message', (msg: HostReply) => {
        if (msg.kind === 'ready') resolve();
        else if (msg.kind === 'failed') reject(new Error(`${handler} host failed to start: ${msg.message}`));
        else if (msg.kind === 'stats') this.statsWaiter?.(msg);
        else {
          const p = this.pending.get(msg.id);
          if (!p) return;
          this.pending.delete(msg.id);
          if (msg.ok) p.resolve(msg.output);
          else {
            const err = new Error(msg.error.message);
            err.name = msg.error.name;
            if (msg.error.stack) err.stack = msg.error.stack;
            p.reject(err);
          }
        }
      });
      this.child.on('exit', (code) => {
        this.exited = true;
        const err = new Error(`${handler} host exited (code ${String(code)})`);
        reject(err);
        for (const p of this.pending.values()) p.reject(err);
        this.pending.clear();
      });
    });
    this.send({ kind: 'init', handler, ...init });
  }

  private send(msg: HostRequest): void {
    this.child.send(msg);
  }

  invoke(input: unknown): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.send({ kind: 'invoke', id, input });
    });
  }

  stats(): Promise<Extract<HostReply, { kind: 'stats' }>> {
    return new Promise((resolve) => {
      this.statsWaiter = resolve;
      this.send({ kind: 'stats' });
    });
  }

  stop(): Promise<void> {
    if (this.exited) return Promise.resolve();
    return new Promise((resolve) => {
      this.child.once('exit', () => resolve());
      this.child.disconnect();
    });
  }
}

export interface HandlerMemory {
  /** Peak RSS of the handler's busiest process (max over its processes), bytes. */
  readonly peakRssBytes: number;
  /** RSS of a process after start-up (runtime built, handler module loaded), before any invocation. */
  readonly idleRssBytes: number;
  readonly processes: number;
  readonly cpuMs: number;
}

/** One process per concurrently running invocation of each handler, started ahead of the run. */
export class HandlerPool {
  private readonly hosts = new Map<HandlerName, Host[]>();
  private readonly idleRss = new Map<HandlerName, number>();
  private bundles: Record<HandlerName, string> | undefined;

  constructor(
    private readonly init: Omit<HostInit, 'kind' | 'handler'>,
    private readonly buildDir: string,
    /** Write a V8 CPU profile per process under <profileDir>/<handler>/ (bundles not minified then). */
    private readonly profileDir?: string,
    /** Extra node flags for every handler process, e.g. --max-old-space-size=160 (a Lambda memory size). */
    private readonly nodeOptions: readonly string[] = [],
  ) {}

  private bundle(h: HandlerName): string {
    const b = this.bundles?.[h];
    if (!b) throw new Error('HandlerPool.start() first');
    return b;
  }

  /** Bundles the handlers, starts the processes (Map handlers: MaxConcurrency of them) and waits until all are ready. */
  async start(handlers: readonly HandlerName[] = HANDLER_NAMES): Promise<void> {
    this.bundles = await bundleHandlers(this.buildDir, HANDLER_NAMES, this.profileDir === undefined);
    const starting: Promise<void>[] = [];
    for (const h of handlers) {
      const n = MAP_HANDLERS.has(h) ? MAP_CONCURRENCY : 1;
      const list: Host[] = [];
      for (let i = 0; i < n; i++) list.push(new Host(h, this.bundle(h), this.init, this.profileDir, this.nodeOptions));
      this.hosts.set(h, list);
      starting.push(...list.map((x) => x.ready));
    }
    await Promise.all(starting);
    for (const [h, list] of this.hosts) {
      const s = await Promise.all(list.map((x) => x.stats()));
      this.idleRss.set(h, Math.max(...s.map((x) => x.rssBytes)));
    }
  }

  private async invoke(handler: HandlerName, input: unknown): Promise<unknown> {
    let list = this.hosts.get(handler);
    if (!list) {
      list = [];
      this.hosts.set(handler, list);
    }
    let host = list.find((h) => !h.busy && !h.exited);
    if (!host) {
      host = new Host(handler, this.bundle(handler), this.init, this.profileDir, this.nodeOptions);
      list.push(host);
      await host.ready;
    }
    host.busy = true;
    try {
      return await host.invoke(input);
    } finally {
      host.busy = false;
    }
  }

  /** Task functions for runPipeline's `tasks`, each timed in `log`. */
  tasks(log: InvocationLog): Record<string, Task> {
    const out: Record<string, Task> = {};
    for (const h of HANDLER_NAMES) out[handlerArn(h)] = log.wrap(h, (input) => this.invoke(h, input));
    return out;
  }

  async memory(): Promise<Partial<Record<HandlerName, HandlerMemory>>> {
    const out: Partial<Record<HandlerName, HandlerMemory>> = {};
    for (const [h, list] of this.hosts) {
      const live = list.filter((x) => !x.exited);
      if (live.length === 0) continue;
      const s = await Promise.all(live.map((x) => x.stats()));
      out[h] = {
        peakRssBytes: Math.max(...s.map((x) => x.maxRssBytes)),
        idleRssBytes: this.idleRss.get(h) ?? 0,
        processes: live.length,
        cpuMs: s.reduce((a, x) => a + x.cpuUserMs + x.cpuSystemMs, 0),
      };
    }
    return out;
  }

  async stop(): Promise<void> {
    await Promise.all([...this.hosts.values()].flat().map((h) => h.stop()));
    this.hosts.clear();
  }
}

/** The same handlers in this process (no per-handler RSS), timed in `log`. */
export function inlineTasks(log: InvocationLog): Record<string, Task> {
  const out: Record<string, Task> = {};
  for (const h of HANDLER_NAMES) {
    const arn = handlerArn(h);
    const task = LOCAL_TASKS[arn];
    if (!task) throw new Error(`no local task for ${arn}`);
    out[arn] = log.wrap(h, task);
  }
  return out;
}
