// Builds the package: dist/index.js and dist/replay.js (ES modules, dependencies left to the app's
// bundler, as published to npm), their .d.ts types, and dist/tracehouse.min.js and
// dist/tracehouse-replay.min.js (one minified ES module each with every dependency, for pages
// without a bundler and for measuring what the SDK weighs without and with session replay).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import * as esbuild from 'esbuild';

const common = { bundle: true, format: 'esm', platform: 'browser', target: 'es2020' };
const packaged = { ...common, packages: 'external', sourcemap: true };
await esbuild.build({ ...packaged, entryPoints: ['src/index.ts'], outfile: 'dist/index.js' });
await esbuild.build({ ...packaged, entryPoints: ['src/replay.ts'], outfile: 'dist/replay.js' });
const minified = { ...common, minify: true, legalComments: 'none' };
await esbuild.build({ ...minified, entryPoints: ['src/index.ts'], outfile: 'dist/tracehouse.min.js' });
// With replay: the SDK and the recorder together, as a page using both loads them.
await esbuild.build({
  ...minified,
  stdin: { contents: "export * from './src/index.ts'; export * from './src/replay.ts';", resolveDir: '.' },
  outfile: 'dist/tracehouse-replay.min.js',
});
execFileSync('npx', ['tsc', '--emitDeclarationOnly'], { stdio: 'inherit' });

const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
for (const file of ['dist/tracehouse.min.js', 'dist/tracehouse-replay.min.js']) {
  const min = readFileSync(file);
  console.log(`${file}: ${kib(min.length)} minified, ${kib(gzipSync(min, { level: 9 }).length)} gzipped`);
}
