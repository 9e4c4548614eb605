// Builds dist/sbw.mjs (ESM), dist/sbw.min.js (IIFE, window.sbw) and the type declarations,
// and copies the IIFE bundle into the demo shop (committed, so the shop runs without a build).
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { copyFileSync, rmSync } from 'node:fs';

rmSync('dist', { recursive: true, force: true });
const common = { bundle: true, target: 'es2020', legalComments: 'none', logLevel: 'warning' };
await build({ ...common, entryPoints: ['src/index.ts'], format: 'esm', outfile: 'dist/sbw.mjs' });
await build({ ...common, entryPoints: ['src/browser.ts'], format: 'iife', minify: true, outfile: 'dist/sbw.min.js' });
execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
copyFileSync('dist/sbw.min.js', '../examples/demo-shop/js/sbw.min.js');
