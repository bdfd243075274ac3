#!/usr/bin/env node
'use strict';
// Runs the TypeScript CLI directly (tsx registers an esbuild-based loader); no build step needed.
require('tsx/cjs/api').register();
// The AWS SDK warns on every start that future releases need Node 22; the CLI runs on Node 20 by design.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
require('../cli/main.ts')
  .main(process.argv.slice(2))
  .then((code) => {
    process.exitCode = code;
  })
  .catch((err) => {
    console.error(err instanceof Error ? `${err.name}: ${err.message}` : String(err));
    process.exitCode = 1;
  });
