#!/usr/bin/env node
'use strict';
// Runs the TypeScript CLI directly (tsx registers an esbuild-based loader); no build step needed.
require('tsx/cjs/api').register();
// The AWS SDK warns on every start that future releases need Node 22; the CLI supports Node 20.19+
// (README, "Node.js versions").
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

// Every command closes what it opened, so the process ends by itself once main() has returned. As a
// safety net, a timer (unref'd: it never keeps the process alive) forces the exit a few seconds
// later and names what was still open. CDC_LEDGER_FORCED_EXIT=off disables it (tests prove the
// commands exit without it).
const GRACE_MS = 5000;

function exitSoon(code) {
  process.exitCode = code;
  if (process.env.CDC_LEDGER_FORCED_EXIT === 'off') return;
  setTimeout(() => {
    // What is still open (an unref'd timer like this one is not listed), without the terminal.
    const open = process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap');
    process.stderr.write(`cdc-ledger: still open ${GRACE_MS / 1000} s after the command ended (${open.join(', ') || 'unknown'}); exiting\n`);
    process.exit(code);
  }, GRACE_MS).unref();
}

require('../cli/main.ts')
  .main(process.argv.slice(2))
  .then(exitSoon)
  .catch((err) => {
    console.error(err instanceof Error ? `${err.name}: ${err.message}` : String(err));
    exitSoon(1);
  });
