import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { gzipSync } from 'node:zlib';

const SITE = resolve(__dirname, '..', '..', 'target', 'site');

const ADMIN = { email: 'weight@example.com', password: 'correct horse battery' };

// A slow connection: 1.6 Mbit/s down, 750 kbit/s up, 150 ms round trip.
const SLOW = { offline: false, latency: 150, downloadThroughput: 1.6e6 / 8, uploadThroughput: 750e3 / 8 };

type Visit = { bytes: number; wasm: number; requests: number; hydratedMs: number; code: string[] };

/** The measure: `gzip -9` of every wasm and js file the page
 * fetched (the main module and all the chunks it needed). */
function gzipped(files: string[]): { files: number; bytes: number } {
  let bytes = 0;
  for (const f of files) bytes += gzipSync(readFileSync(`${SITE}${f}`), { level: 9 }).length;
  return { files: files.length, bytes };
}

/** Opens `path` in `page` and reports what came over the network (encoded
 * bytes, headers included) until the app marked itself hydrated. */
async function visit(page: Page, path: string, slow: boolean): Promise<Visit> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: false });
  if (slow) await cdp.send('Network.emulateNetworkConditions', SLOW);
  const urls = new Map<string, string>();
  const code = new Set<string>();
  let bytes = 0;
  let wasm = 0;
  let requests = 0;
  cdp.on('Network.responseReceived', (e) => urls.set(e.requestId, e.response.url));
  cdp.on('Network.loadingFinished', (e) => {
    requests += 1;
    bytes += e.encodedDataLength;
    const url = urls.get(e.requestId) ?? '';
    if (url.includes('.wasm')) wasm += e.encodedDataLength;
    const path = url ? new URL(url).pathname : '';
    if (/^\/pkg\/.*\.(wasm|js)$/.test(path)) code.add(path);
  });
  const began = Date.now();
  await page.goto(path);
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true', { timeout: 120_000 });
  const hydratedMs = Date.now() - began;
  await cdp.detach();
  return { bytes, wasm, requests, hydratedMs, code: [...code] };
}

function line(what: string, v: Visit) {
  const kb = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
  console.log(
    `${what.padEnd(44)} ${kb(v.bytes).padStart(11)} in ${String(v.requests).padStart(2)} requests ` +
      `(wasm ${kb(v.wasm)}), hydrated after ${v.hydratedMs} ms`,
  );
  if (v.code.length > 0) {
    const g = gzipped(v.code);
    console.log(`${''.padEnd(44)} its wasm and js: ${g.files} files, gzip -9 ${(g.bytes / 1000).toFixed(1)} KB`);
  }
}

async function signedIn(context: BrowserContext, baseURL: string) {
  const res = await context.request.post(`${baseURL}/api/login`, {
    form: { email: ADMIN.email, password: ADMIN.password },
  });
  expect(res.status()).toBe(200);
}

test('first and repeat visits to /login and a Webhooks tab', async ({ browser, baseURL, request }) => {
  const setup = await request.post('/api/setup', {
    form: { email: ADMIN.email, password: ADMIN.password, confirm: ADMIN.password, token: 'weight-setup-token' },
  });
  expect(setup.status()).toBe(200);
  const created = await request.post('/api/projects/create', { form: { name: 'Weight' } });
  expect(created.status()).toBe(200);
  const pid = (await created.json()).id as string;
  const webhooks = `/p/${pid}/webhooks`;

  for (const slow of [false, true]) {
    const speed = slow ? 'slow (1.6 Mbit/s, 150 ms)' : 'unthrottled';
    // A first visit: a new browser profile, nothing cached.
    const fresh = await browser.newContext();
    const page = await fresh.newPage();
    line(`/login, first visit, ${speed}`, await visit(page, '/login', slow));
    // The same profile again: what its cache saves.
    line(`/login, repeat visit, ${speed}`, await visit(page, '/login', slow));
    await fresh.close();

    const other = await browser.newContext();
    await signedIn(other, baseURL!);
    const tab = await other.newPage();
    line(`Webhooks tab, first visit, ${speed}`, await visit(tab, webhooks, slow));
    line(`Webhooks tab, repeat visit, ${speed}`, await visit(tab, webhooks, slow));
    await other.close();
  }
});
