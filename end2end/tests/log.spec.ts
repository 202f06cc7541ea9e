import { expect, test, type APIRequestContext, type Page } from '@playwright/test';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { basic, closeServer, hydrated, project, receiver, register, type Project, type Receiver } from './helpers';

// The server runs with small retry waits (see playwright.config.ts): a
// delivery that keeps failing is Failed after its 6 attempts in seconds.

// A receiver on 127.0.0.1: `/ok` answers 200; `/flaky` answers 500 while
// `failing` is set, and to events with `"fail": true` while `failMarked` is.
let rx: Receiver;
let base = '';
let failing = false;
let failMarked = false;

test.beforeAll(async () => {
  rx = await receiver({
    answer: ({ path, body }) => {
      const marked = body.toString().includes('"fail":true');
      const fail = path === '/flaky' && (failing || (failMarked && marked));
      return fail ? 500 : 200;
    },
  });
  base = rx.url;
});

test.afterAll(async () => {
  await rx?.close();
});

/** The bodies that came to `path` of the receiver, in order. */
function bodies(path: string) {
  return rx.at(path).map((r) => r.body.toString());
}

async function publish(request: APIRequestContext, p: Project, event: object) {
  const res = await request.post(`/projects/${p.id}/events`, { headers: basic(p.id, p.secret), data: event });
  expect(res.status()).toBe(202);
  return (await res.json()).data.id as string;
}

test('a test event shows in the log as Succeeded, with the 200 and the request headers', async ({ page, request }) => {
  const p = await project(page, 'Log: test event');
  const hook = await register(request, p, `${base}/ok`);
  await page.goto(`/p/${p.id}/webhooks/${hook.id}`);
  await hydrated(page);
  await page.getByRole('button', { name: 'Send test event' }).click();
  await expect(page.getByRole('status').first()).toContainText('Delivered HTTP 200');

  await page.getByRole('navigation', { name: 'Project' }).getByRole('link', { name: 'Delivery log' }).click();
  await expect(page).toHaveURL(new RegExp(`/p/${p.id}/deliveries$`));
  const row = page.locator('tbody tr').first();
  await expect(row).toContainText('messages');
  await expect(row.locator('[data-status]')).toHaveText('Succeeded');
  await expect(row.locator('td').nth(5)).toHaveText('200');

  await row.getByRole('link').click();
  await expect(page.getByRole('heading', { name: /^Delivery dlv_/ })).toBeVisible();
  await expect(page.getByLabel('Event body')).toContainText('"event": "messages"');
  const attempt = page.locator('.attempt').first();
  await expect(attempt).toContainText('HTTP 200');
  await attempt.getByText('Request headers').click();
  const sent = attempt.locator('details', { hasText: 'Request headers' }).locator('table.headers');
  await expect(sent).toContainText('x-spectrum-signature');
  await expect(sent).toContainText(/v0=[0-9a-f]{64}/);

  // The Webhooks list shows the last result and the 24 h success rate.
  await page.getByRole('navigation', { name: 'Project' }).getByRole('link', { name: 'Webhooks' }).click();
  const listed = page.getByRole('row', { name: new RegExp(`${base}/ok`) });
  await expect(listed.locator('td.last-delivery')).toContainText('Succeeded · 200');
  await expect(listed.locator('td.success-rate')).toHaveText('100.0%');
});

test('a failing receiver: Retrying, then Failed after the last attempt; fixed, Redeliver succeeds', async ({ page, request }) => {
  const p = await project(page, 'Log: retries');
  await register(request, p, `${base}/flaky`);
  failing = true;
  await publish(request, p, { event: 'order.paid', amount: 12 });

  await page.goto(`/p/${p.id}/deliveries`);
  await hydrated(page);
  const status = page.locator('tbody tr').first().locator('[data-status]');
  await expect(status).toHaveText(/Retrying — attempt \d of 6/);
  // The live page follows it to the end, without a reload.
  await expect(status).toHaveText('Failed', { timeout: 20_000 });
  await expect(page.locator('tbody tr').first().locator('td').nth(4)).toHaveText('6');

  failing = false;
  await page.locator('tbody tr').first().getByRole('link').click();
  await expect(page.locator('.attempt')).toHaveCount(6);
  await page.getByRole('button', { name: 'Redeliver' }).click();
  const queued = page.getByRole('status').filter({ hasText: 'Redelivery queued' });
  await expect(queued).toBeVisible();
  await queued.getByRole('link').click();
  await expect(page.locator('.facts [data-status]')).toHaveText('Succeeded');
  await expect(page.locator('.facts')).toContainText('Redelivery of dlv_');

  // The original stays Failed beside it in the log.
  await page.goto(`/p/${p.id}/deliveries`);
  const statuses = page.locator('tbody tr [data-status]');
  await expect(statuses).toHaveText(['Succeeded', 'Failed']);
});

test('filters and pages live in the URL: reload and back keep them', async ({ page, request }) => {
  const p = await project(page, 'Log: paging');
  const ok = await register(request, p, `${base}/ok`);
  await register(request, p, `${base}/ok2`, { events: ['rare'] });
  for (let n = 0; n < 60; n++) {
    await publish(request, p, { event: 'tick', n });
  }
  await publish(request, p, { event: 'rare' });
  await expect
    .poll(async () => {
      const r = await request.get(`/projects/${p.id}/webhooks/${ok.id}/deliveries?status=succeeded&limit=200`, {
        headers: basic(p.id, p.secret),
      });
      return (await r.json()).data.deliveries.length;
    })
    .toBe(61);

  await page.goto(`/p/${p.id}/deliveries`);
  await hydrated(page);
  const filters = page.getByRole('form', { name: 'Filters' });
  await filters.getByLabel('Status').selectOption('succeeded');
  await filters.getByLabel('Webhook').selectOption({ label: `${base}/ok` });
  await filters.getByLabel('Event', { exact: true }).fill('tick');
  await filters.getByRole('button', { name: 'Apply' }).click();
  await expect(page).toHaveURL(/status=succeeded/);
  await expect(page).toHaveURL(/event=tick/);
  await expect(page.locator('tbody tr')).toHaveCount(50);
  const newest = await page.locator('tbody tr').first().getAttribute('data-delivery');

  await page.getByRole('link', { name: 'Older →' }).click();
  await expect(page).toHaveURL(/cursor=o\d+/);
  await expect(page.locator('tbody tr')).toHaveCount(10);
  const olderFirst = await page.locator('tbody tr').first().getAttribute('data-delivery');
  expect(olderFirst).not.toBe(newest);

  // Reload: the same filters, the same page.
  await page.reload();
  await hydrated(page);
  await expect(page.locator('tbody tr')).toHaveCount(10);
  await expect(page.locator('tbody tr').first()).toHaveAttribute('data-delivery', olderFirst!);
  await expect(page.getByRole('form', { name: 'Filters' }).getByLabel('Status')).toHaveValue('succeeded');
  await expect(page.getByRole('form', { name: 'Filters' }).getByLabel('Event', { exact: true })).toHaveValue('tick');

  // Back: the first page, filters kept.
  await page.goBack();
  await expect(page).not.toHaveURL(/cursor=/);
  await expect(page).toHaveURL(/event=tick/);
  await expect(page.locator('tbody tr')).toHaveCount(50);
  await expect(page.locator('tbody tr').first()).toHaveAttribute('data-delivery', newest!);
  await expect(page.locator('tbody tr').filter({ hasText: 'rare' })).toHaveCount(0);
});

test('the open log shows a new delivery without a reload', async ({ page, request }) => {
  const p = await project(page, 'Log: live');
  await register(request, p, `${base}/ok`);
  await publish(request, p, { event: 'first' });
  await page.goto(`/p/${p.id}/deliveries`);
  await hydrated(page);
  await expect(page.locator('tbody tr')).toHaveCount(1);
  // A mark that a reload would erase.
  await page.evaluate(() => ((window as unknown as { mark: number }).mark = 42));

  await publish(request, p, { event: 'second.live' });
  await expect(page.locator('tbody tr')).toHaveCount(2);
  await expect(page.locator('tbody tr').first()).toContainText('second.live');
  expect(await page.evaluate(() => (window as unknown as { mark: number }).mark)).toBe(42);
});

/** Makes the page believe its tab is hidden (or shown again), as switching tabs does. */
async function setHidden(page: Page, hidden: boolean) {
  await page.evaluate((h) => {
    Object.defineProperty(document, 'hidden', { configurable: true, get: () => h });
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => (h ? 'hidden' : 'visible') });
    document.dispatchEvent(new Event('visibilitychange'));
  }, hidden);
}

test('the open log stops asking while its tab is hidden, and catches up when shown', async ({ page, request }) => {
  const p = await project(page, 'Log: hidden tab');
  await register(request, p, `${base}/ok`);
  await publish(request, p, { event: 'first' });
  // The page's timers run on a clock the test can move forward at will.
  await page.clock.install();
  await page.goto(`/p/${p.id}/deliveries`);
  await hydrated(page);
  await expect(page.locator('tbody tr')).toHaveCount(1);

  let phase: 'visible' | 'hidden' | 'shown' = 'visible';
  const asked = { visible: 0, hidden: 0, shown: 0 };
  // The live log reads its own page again.
  page.on('request', (r) => {
    if (r.resourceType() === 'fetch' && new URL(r.url()).pathname === `/p/${p.id}/deliveries`) asked[phase]++;
  });
  await page.clock.runFor(2_500);
  await expect.poll(() => asked.visible).toBeGreaterThan(0);

  // Hidden: a minute of polling intervals passes without a single request,
  // though there is something new to show.
  await setHidden(page, true);
  phase = 'hidden';
  await publish(request, p, { event: 'while.hidden' });
  await page.clock.runFor(60_000);
  await expect(page.locator('tbody tr')).toHaveCount(1);

  // Shown again: the next tick asks, and the new delivery appears.
  phase = 'shown';
  await setHidden(page, false);
  await page.clock.runFor(2_500);
  await expect.poll(() => asked.shown).toBeGreaterThan(0);
  await expect(page.locator('tbody tr').first()).toContainText('while.hidden');
  // Requests are reported in the order they were made: one made while
  // hidden would have been counted before the first one after.
  expect(asked.hidden).toBe(0);
});

test('replay failed since… replays exactly the failed ones', async ({ page, request }) => {
  const p = await project(page, 'Log: replay');
  // Unordered: the two failing deliveries retry side by side.
  const hook = await register(request, p, `${base}/flaky`, { ordering: 'unordered' });
  failMarked = true;
  const n0 = bodies('/flaky').length;
  for (let n = 0; n < 5; n++) {
    await publish(request, p, { event: 'sync', n, fail: n % 2 === 1 });
  }
  // Events 1 and 3 fail for good (6 attempts each); 0, 2 and 4 succeed.
  await expect
    .poll(
      async () => {
        const r = await request.get(`/projects/${p.id}/webhooks/${hook.id}/deliveries?status=failed`, {
          headers: basic(p.id, p.secret),
        });
        return (await r.json()).data.deliveries.length;
      },
      { timeout: 25_000 },
    )
    .toBe(2);
  failMarked = false;
  const before = bodies('/flaky').length;

  await page.goto(`/p/${p.id}/webhooks/${hook.id}`);
  await hydrated(page);
  await page.getByRole('button', { name: 'Replay failed since…' }).click();
  const dialog = page.getByRole('dialog', { name: 'Replay failed deliveries' });
  const hourAgo = new Date(Date.now() - 3_600_000);
  const local = new Date(hourAgo.getTime() - hourAgo.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
  await dialog.getByLabel('Failed or dropped since').fill(local);
  await expect(dialog).toContainText('2 deliveries will be sent again');
  await dialog.getByRole('button', { name: 'Replay' }).click();
  await expect(dialog.getByRole('status')).toHaveText('2 deliveries queued again.');
  await dialog.getByRole('button', { name: 'Done' }).click();

  // The receiver gets events 1 and 3 once more, and nothing else.
  await rx.waitFor(before + 2, '/flaky');
  const replayed = bodies('/flaky').slice(before).map((b) => JSON.parse(b).n).sort();
  expect(replayed).toEqual([1, 3]);
  expect(before - n0).toBe(3 + 2 * 6);
  await page.goto(`/p/${p.id}/deliveries?status=succeeded&webhook=${hook.id}`);
  await expect(page.locator('tbody tr').filter({ hasText: 'replay' })).toHaveCount(2);

  // The project's Activity page says who replayed what.
  await page.getByRole('navigation', { name: 'Project' }).getByRole('link', { name: 'Activity' }).click();
  await expect(page.locator('.activity li').first()).toContainText(
    `admin@example.com replayed failed deliveries of ${base}/flaky (2 deliveries since`,
  );
  await expect(page.locator('.activity')).toContainText(`the HTTP API added webhook ${base}/flaky`);
});

/** A port nobody listens on yet. */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as AddressInfo).port;
  await closeServer(s);
  return port;
}

async function listening(port: number) {
  await expect
    .poll(
      () =>
        new Promise<boolean>((resolve) => {
          const c = connect(port, '127.0.0.1', () => {
            c.end();
            resolve(true);
          });
          c.on('error', () => resolve(false));
        }),
      { timeout: 10_000 },
    )
    .toBe(true);
}

const execFileAsync = promisify(execFile);
/** One cargo target directory for the Rust snippets, kept between runs. */
const SNIPPET_TARGET = resolve(__dirname, '../../target/snippets');

/**
 * Saves a snippet as its page tells a reader to, builds it when the language
 * needs a build, and returns the command that starts the receiver.
 */
async function prepare(language: string, code: string, dir: string): Promise<string[]> {
  switch (language) {
    case 'Node':
      writeFileSync(join(dir, 'webhook.js'), code);
      return ['node', join(dir, 'webhook.js')];
    case 'Python':
      writeFileSync(join(dir, 'webhook.py'), code);
      return ['python3', join(dir, 'webhook.py')];
    case 'Go': {
      writeFileSync(join(dir, 'main.go'), code);
      await execFileAsync('go', ['build', '-o', 'webhook', 'main.go'], { cwd: dir });
      return [join(dir, 'webhook')];
    }
    case 'Rust': {
      // The Cargo.toml is the one the snippet's header comment gives.
      const lines = code.split('\n');
      const from = lines.findIndex((l) => l.trim() === '//! Cargo.toml:');
      const manifest = [];
      for (const line of lines.slice(from + 1)) {
        if (!line.startsWith('//! ')) break;
        manifest.push(line.slice(4));
      }
      expect(manifest[0]).toBe('[dependencies]');
      mkdirSync(join(dir, 'src'));
      writeFileSync(join(dir, 'src', 'main.rs'), code);
      writeFileSync(
        join(dir, 'Cargo.toml'),
        `[package]\nname = "webhook"\nversion = "0.1.0"\nedition = "2021"\n\n[workspace]\n\n${manifest.join('\n')}\n`,
      );
      await execFileAsync('cargo', ['build', '--quiet'], {
        cwd: dir,
        // Not the flags of Signpost's own build (scripts/test exports them).
        env: { ...process.env, CARGO_TARGET_DIR: SNIPPET_TARGET, RUSTFLAGS: '' },
        maxBuffer: 16 << 20,
      });
      return [join(SNIPPET_TARGET, 'debug', 'webhook')];
    }
  }
  throw new Error(`no way to run ${language}`);
}

for (const scheme of ['spectrum-v0', 'standard-webhooks']) {
  for (const language of ['Node', 'Python', 'Go', 'Rust']) {
    test(`the ${language} snippet verifies a real ${scheme} delivery`, async ({ page, request }) => {
      // Go and Rust compile first; the first Rust build compiles axum and tokio.
      test.setTimeout(language === 'Rust' ? 600_000 : 120_000);
      const p = await project(page, `Snippet ${language} ${scheme}`);
      const port = await freePort();
      const hook = await register(request, p, `http://127.0.0.1:${port}/webhook`, { scheme });
      await page.goto(`/p/${p.id}/webhooks/${hook.id}`);
      await hydrated(page);
      await page.getByRole('tab', { name: language }).click();
      const code = await page.getByRole('tabpanel', { name: language }).locator('pre').textContent();
      // A Go build leaves a 6 MB binary in it: removed however the test ends.
      const dir = mkdtempSync(join(tmpdir(), 'signpost-snippet-'));
      try {
        const [command, ...args] = await prepare(language, code!, dir);

        // With the right secret the handler accepts; with another it refuses.
        for (const [secret, expected] of [
          [hook.secret, /Delivered HTTP 20\d/],
          [scheme === 'spectrum-v0' ? 'f'.repeat(64) : 'whsec_' + Buffer.alloc(32, 7).toString('base64'), /Failed HTTP 40\d/],
        ] as const) {
          const child: ChildProcess = spawn(command, args, {
            env: { ...process.env, PORT: String(port), SIGNPOST_WEBHOOK_SECRET: secret },
            stdio: 'ignore',
          });
          try {
            await listening(port);
            await page.getByRole('button', { name: 'Send test event' }).click();
            await expect(page.locator('.test-result')).toContainText(expected);
          } finally {
            // Wait for the exit unless it already happened (then 'exit' will not fire again).
            if (child.exitCode === null && child.signalCode === null) {
              const exited = new Promise((resolve) => child.once('exit', resolve));
              child.kill();
              await exited;
            }
          }
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
}
