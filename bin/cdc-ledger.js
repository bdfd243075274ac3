#!/usr/bin/env node
'use strict';
// Runs the TypeScript CLI directly (tsx registers an esbuild-based loader); no build step needed.
require('tsx/cjs/api').register();
require('../cli/main.ts')
  .main(process.argv.slice(2))
  .then((code) => {
    process.exitCode = code;
  })
  .catch((err) => {
    console.error(err instanceof Error ? `${err.name}: ${err.message}` : String(err));
    process.exitCode = 1;
  });
