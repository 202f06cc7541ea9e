import { defineConfig } from '@playwright/test';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

// The dashboard's weight on the release build (scripts/bench-weight): what
// a first visit transfers and how long it takes to come alive. Figures,
// not a test: nothing here fails on a number.
const port = process.env.E2E_PORT ?? '3918';
const root = resolve(__dirname, '..');
const baseURL = `http://127.0.0.1:${port}`;
const data = mkdtempSync(join(tmpdir(), 'signpost-weight-'));

export default defineConfig({
  testDir: './weight',
  workers: 1,
  retries: 0,
  timeout: 180_000,
  reporter: [['list']],
  use: {
    baseURL,
    launchOptions: {
      executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
    },
  },
  webServer: {
    command: `${root}/target/release/signpost serve`,
    url: `${baseURL}/healthz`,
    reuseExistingServer: false,
    timeout: 60_000,
    env: {
      SIGNPOST_ADDR: `127.0.0.1:${port}`,
      SIGNPOST_DATABASE_URL: `sqlite://${join(data, 'weight.db')}`,
      SIGNPOST_SECRET_KEY_FILE: join(data, 'signpost.key'),
      LEPTOS_SITE_ROOT: `${root}/target/site`,
      SIGNPOST_LOG: 'warn',
      SIGNPOST_SETUP_TOKEN: 'weight-setup-token',
    },
  },
});
