import { resolve } from 'node:path';

/** Repository root (the tests run from sdk/). */
export const REPO_ROOT = resolve(process.cwd(), '..');
export const SHOP_DIR = resolve(REPO_ROOT, 'examples/demo-shop');
export const SDK_BUNDLE = resolve(process.cwd(), 'dist/sbw.min.js');
/** The ingest server binary; SBW_SBWCTL overrides it. */
export const SBWCTL = process.env.SBW_SBWCTL || resolve(REPO_ROOT, 'target/debug/sbwctl');
export const CHROMIUM = process.env.SBW_CHROMIUM || '/usr/bin/chromium';
