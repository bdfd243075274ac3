import { buildSync } from 'esbuild';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import { bundling } from '../../infra/constructs/pipeline-functions';

/**
 * The Lambdas are bundled minified; the state machine's Retry/Catch match errors by their class name
 * (lib/errors.ts: name = new.target.name). Bundled with the stack's own options, the names must survive.
 */
test('errors keep their class names in the minified Lambda bundle (Retry/Catch match them)', () => {
  const opts = bundling('/dev/null');
  const build = (keepNames: boolean | undefined) =>
    buildSync({
      stdin: {
        contents: `const e = require('./lib/errors'); module.exports = [new e.VerificationError('x').name, new e.SourceUnavailableError('y').name, new e.CdcRetentionGapError('z').name];`,
        resolveDir: join(__dirname, '..', '..'),
        loader: 'ts',
      },
      bundle: true,
      platform: 'node',
      format: 'cjs',
      write: false,
      minify: opts.minify ?? false,
      ...(keepNames === undefined ? {} : { keepNames }),
    }).outputFiles[0]?.text ?? '';
  const run = (code: string): unknown => {
    const module = { exports: {} as unknown };
    runInNewContext(code, { module, exports: module.exports, require });
    return module.exports;
  };
  expect(opts.minify).toBe(true);
  expect(run(build(opts.keepNames))).toEqual(['VerificationError', 'SourceUnavailableError', 'CdcRetentionGapError']);
  // without keepNames the minifier renames the classes: what the option prevents
  expect(run(build(false))).not.toEqual(['VerificationError', 'SourceUnavailableError', 'CdcRetentionGapError']);
});
