import { defineConfig } from 'vitest/config';

// Real-browser tests: headless Chromium (Debian's) drives the demo shop against `sbwctl dev ingest`.
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.e2e.ts'],
    environment: 'node',
    globalSetup: ['test/e2e/support/global-setup.ts'],
    fileParallelism: false,
    testTimeout: 90_000,
    hookTimeout: 120_000,
  },
});
