#!/usr/bin/env node
'use strict';
// Runs the TypeScript CLI directly (tsx registers an esbuild-based loader); no build step needed.
require('tsx/cjs/api').register();
// The AWS SDK warns on every start that future releases need Node 22; the CLI runs on Node 20 by design.
const emitWarning = process.emitWarning.bind(process);
process.emitWarning = (warning, ...rest) => {
  const text = typeof warning === 'string' ? warning : warning && warning.message;
  const type = typeof rest[0] === 'string' ? rest[0] : rest[0] && rest[0].type;
  if (type === 'NodeVersionSupportWarning' || (text && String(text).includes('NodeVersionSupportWarning'))) return;
  emitWarning(warning, ...rest);
};
require('../cli/main.ts')
  .main(process.argv.slice(2))
  .then((code) => {
    process.exitCode = code;
  })
  .catch((err) => {
    console.error(err instanceof Error ? `${err.name}: ${err.message}` : String(err));
    process.exitCode = 1;
  });
