import { defineConfig } from '@playwright/test';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

// scripts/test picks a free port and a throw-away database; running
// `npx playwright test` by hand falls back to the same kind of defaults.
const port = process.env.E2E_PORT ?? '3917';
const database = process.env.E2E_DB ?? `sqlite://${join(mkdtempSync(join(tmpdir(), 'signpost-e2e-')), 'e2e.db')}`;
const root = resolve(__dirname, '..');
const baseURL = `http://127.0.0.1:${port}`;
// `E2E_PROFILE=release` runs the suite against the release build (built by
// `scripts/build --release`), which is what users get.
const profile = process.env.E2E_PROFILE ?? 'debug';

export default defineConfig({
  testDir: './tests',
  // One server and one database for the run; tests that share state say so.
  workers: 1,
  fullyParallel: false,
  forbidOnly: !!process.env.CI,
  retries: 0,
  timeout: 30_000,
  expect: { timeout: 10_000 },
  reporter: [['list'], ['json', { outputFile: 'test-results/results.json' }]],
  use: {
    baseURL,
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-quic',
      ],
    },
  },
  // Sign-in runs first on the fresh database (it creates the first admin);
  // the dashboard tests build on that.
  projects: [
    { name: 'auth', testMatch: /(auth|assets)\.spec\.ts/, use: { browserName: 'chromium' } },
    {
      name: 'dashboard',
      testMatch: /(webhooks|delivery|team|log|system|fit|plain|ordering|portal|access|alerts|events|catalog|replay)\.spec\.ts/,
      dependencies: ['auth'],
      use: { browserName: 'chromium', permissions: ['clipboard-read', 'clipboard-write'] },
    },
  ],
  webServer: {
    command: `${root}/target/${profile}/signpost serve`,
    url: `${baseURL}/healthz`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: 'pipe',
    stderr: 'pipe',
    env: {
      SIGNPOST_ADDR: `127.0.0.1:${port}`,
      SIGNPOST_DATABASE_URL: database,
      // Its own key, beside nothing else (on PostgreSQL the default would be
      // a file in the working directory).
      SIGNPOST_SECRET_KEY_FILE: join(mkdtempSync(join(tmpdir(), 'signpost-e2e-key-')), 'signpost.key'),
      LEPTOS_SITE_ROOT: `${root}/target/site`,
      SIGNPOST_LOG: 'warn',
      // As on a network install: /setup needs the token (tests/helpers.ts).
      SIGNPOST_SETUP_TOKEN: 'e2e-setup-token',
      // Test receivers run on this machine; everything else stays guarded.
      SIGNPOST_ALLOW_TARGETS: '127.0.0.1',
      // Small retry waits: a delivery that keeps failing ends in seconds.
      SIGNPOST_RETRY_BASE_MS: '300',
      SIGNPOST_RETRY_MAX_MS: '1500',
      // Alerts are looked for twice a second, not every 30 s.
      SIGNPOST_ALERT_CHECK_MS: '500',
    },
  },
});
