// Builds the package: dist/index.js (ES module, dependencies left to the app's bundler, as
// published to npm), dist/index.d.ts (types), and dist/tracehouse.min.js (one minified ES module
// with every dependency, for pages without a bundler and for measuring what the SDK weighs).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import * as esbuild from 'esbuild';

const common = { entryPoints: ['src/index.ts'], bundle: true, format: 'esm', platform: 'browser', target: 'es2020' };
await esbuild.build({ ...common, outfile: 'dist/index.js', packages: 'external', sourcemap: true });
await esbuild.build({ ...common, outfile: 'dist/tracehouse.min.js', minify: true, legalComments: 'none' });
execFileSync('npx', ['tsc', '--emitDeclarationOnly'], { stdio: 'inherit' });

const min = readFileSync('dist/tracehouse.min.js');
const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
console.log(`dist/tracehouse.min.js: ${kib(min.length)} minified, ${kib(gzipSync(min, { level: 9 }).length)} gzipped`);
