import {
  expect,
  test,
  type APIRequestContext,
  type Browser,
  type FrameLocator,
  type Locator,
  type Page,
} from '@playwright/test';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  basic,
  closeServer,
  hydrated,
  project,
  receiver,
  register,
  saved,
  type Project,
  type Receiver,
  validSignature,
} from './helpers';

// Tenants and the customer portal: the platform asks Signpost for a link to
// one of its customers' accounts, and that customer, with no Signpost
// account, manages the webhooks of that account (and only those), on the
// link's own page or inside the platform's app in an <iframe>.

// A real receiver on 127.0.0.1 (allow-listed by the test server's config):
// it records each delivery with the path it came to, and answers 200. Each
// test uses paths of its own.
let rx: Receiver;
let base = '';

// The platform's own app, on another origin (another port): its page shows
// the address in `?src=` in an <iframe>, and marks the frame once it loaded.
let app: Server;
let appOrigin = '';

test.beforeAll(async () => {
  rx = await receiver();
  base = rx.url;

  app = createServer((req, res) => {
    req.resume();
    const src = new URL(req.url ?? '/', 'http://app').searchParams.get('src') ?? 'about:blank';
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(
      '<!doctype html><title>Platform app</title><h1>Platform app</h1>' +
        `<iframe src="${attr(src)}" style="width:100%;height:85vh;border:0" onload="this.dataset.loaded = 'yes'"></iframe>`,
    );
  });
  await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
  appOrigin = `http://127.0.0.1:${(app.address() as AddressInfo).port}`;
});

test.afterAll(async () => {
  await rx?.close();
  await closeServer(app);
});

/** `s` as an HTML attribute's value. */
function attr(s: string) {
  return s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
}

/** A portal link to `tenant`'s account, as the platform's backend asks for one. */
async function portalLink(
  request: APIRequestContext,
  p: Project,
  tenant: string,
  options: { ttlSeconds?: number; readOnly?: boolean } = {},
) {
  const res = await request.post(`/projects/${p.id}/portal-links`, {
    headers: basic(p.id, p.secret),
    data: { tenant, ttlSeconds: 3600, readOnly: false, ...options },
  });
  expect(res.status()).toBe(200);
  const body = await res.json();
  expect(body.succeed).toBe(true);
  const url = body.data.url as string;
  expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/portal\/pt_[A-Za-z0-9_-]+$/);
  expect(Number.isNaN(Date.parse(body.data.expiresAt))).toBe(false);
  return { url, token: new URL(url).pathname.split('/')[2] };
}

/** Publishes one event, to `tenant`'s webhooks (or, with null, to the platform's own). */
async function publish(request: APIRequestContext, p: Project, tenant: string | null, event: object) {
  const query = tenant === null ? '' : `?tenant=${tenant}`;
  const res = await request.post(`/projects/${p.id}/events${query}`, {
    headers: basic(p.id, p.secret),
    data: event,
  });
  expect(res.status()).toBe(202);
}

/** A browser with no Signpost session: the platform's customer. */
async function stranger(browser: Browser) {
  const context = await browser.newContext();
  return { context, page: await context.newPage() };
}

/** `hydrated` for a page inside a frame. */
async function frameHydrated(frame: FrameLocator) {
  await expect(frame.locator('body')).toHaveAttribute('data-hydrated', 'true');
}

/** A refused link's page: its heading, and nothing of the Webhook tab. */
async function refusedAlone(page: Page, heading: string, hook: string) {
  await hydrated(page);
  await expect(page.getByRole('heading', { level: 1, name: heading })).toBeVisible();
  await expect(page.locator('.portal-bar')).toHaveCount(0);
  await expect(page.locator('.portal-foot')).toHaveCount(0);
  await expect(page.getByRole('button', { name: 'Add webhook' })).toHaveCount(0);
  await expect(page.getByRole('table')).toHaveCount(0);
  expect(await page.content()).not.toContain(hook);
}

/** The page does not scroll sideways (as in fit.spec.ts). */
async function fits(page: Page) {
  const { scroll, client } = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    client: document.documentElement.clientWidth,
  }));
  expect(scroll, `${page.url()} is ${scroll} px wide in a ${client} px window`).toBeLessThanOrEqual(client);
}

/** `target` is visible and wholly inside the window's width (as in fit.spec.ts). */
async function inSight(page: Page, target: Locator) {
  await expect(target).toBeVisible();
  const box = (await target.boundingBox())!;
  const width = page.viewportSize()!.width;
  expect(box.x).toBeGreaterThanOrEqual(0);
  expect(box.x + box.width).toBeLessThanOrEqual(width);
}

test('a customer opens a portal link, adds a webhook, sees its secret once, sends a test event, reads the log and redelivers', async ({
  page,
  request,
  browser,
}) => {
  const p = await project(page, 'Portal: first customer');
  // Another customer's webhook, and one of the platform's own: neither is acme's.
  const globex = `${base}/one/globex`;
  const own = `${base}/one/platform`;
  await register(request, p, globex, { tenant: 'globex' });
  await register(request, p, own);
  const { url, token } = await portalLink(request, p, 'acme');

  // The customer follows the link, signed in nowhere: the platform's name,
  // two tabs, the account and how long the link works.
  const { context, page: portal } = await stranger(browser);
  await portal.goto(url);
  await hydrated(portal);
  await expect(portal.locator('.portal-bar')).toContainText('Portal: first customer');
  const tabs = portal.getByRole('navigation', { name: 'Portal' });
  await expect(tabs.getByRole('link', { name: 'Webhooks', exact: true })).toBeVisible();
  await expect(tabs.getByRole('link', { name: 'Delivery log', exact: true })).toBeVisible();
  await expect(portal.locator('.portal-foot')).toContainText('Account acme · this link works until');
  // Acme has no webhook yet; the others are not shown.
  await expect(portal.getByText('No webhooks yet')).toBeVisible();
  let content = await portal.content();
  expect(content).not.toContain(globex);
  expect(content).not.toContain(own);

  // They add one. The page comes back with `done=shown-…` in its address
  // (which the script then drops) and the secret in a dialog.
  const acme = `${base}/one/acme`;
  await portal.getByRole('button', { name: 'Add webhook' }).first().click();
  const add = portal.getByRole('dialog', { name: 'Add webhook' });
  await add.getByLabel('URL').fill(acme);
  await add.getByLabel('Description').fill('Acme order system');
  const back = portal.waitForRequest((r) => r.isNavigationRequest() && r.url().includes('done=shown-'));
  await add.getByRole('button', { name: 'Add webhook' }).click();
  const cameBackTo = (await back).url();
  const added = portal.getByRole('dialog', { name: 'Webhook added' });
  await expect(added).toBeVisible();
  await hydrated(portal);
  const secret = await added.getByLabel('Signing secret').inputValue();
  expect(secret).toMatch(/^[0-9a-f]{64}$/);
  await saved(added);
  await expect(added).toHaveCount(0);

  // Shown once: not after a reload, nor at the address the form came back to.
  await portal.reload();
  await hydrated(portal);
  await expect(portal.getByRole('dialog', { name: 'Webhook added' })).toHaveCount(0);
  expect(await portal.content()).not.toContain(secret);
  await portal.goto(cameBackTo);
  await hydrated(portal);
  await expect(portal.getByRole('dialog', { name: 'Webhook added' })).toHaveCount(0);
  expect(await portal.content()).not.toContain(secret);

  // The row links to the webhook's portal page; the platform finds it under acme.
  const row = portal.getByRole('row', { name: new RegExp(acme) });
  await expect(row).toContainText('Acme order system');
  await expect(row.getByRole('link', { name: acme })).toHaveAttribute(
    'href',
    new RegExp(`^/portal/${token}/webhooks/[^/?]+$`),
  );
  const listed = await request.get(`/projects/${p.id}/webhooks?tenant=acme`, { headers: basic(p.id, p.secret) });
  const mine = (await listed.json()).data as { webhookUrl: string; tenant?: string }[];
  expect(mine.map((w) => [w.webhookUrl, w.tenant])).toEqual([[acme, 'acme']]);

  // A test event reaches the receiver, signed with the secret just shown.
  await row.getByRole('button', { name: 'Send test event' }).click();
  await expect(row.locator('.test-result')).toContainText('Delivered HTTP 200');
  expect(rx.at('/one/acme')).toHaveLength(1);
  expect(rx.at('/one/acme')[0].headers['x-spectrum-signature']).toBeTruthy();
  expect(validSignature(rx.at('/one/acme')[0], secret)).toBe(true);

  // The platform publishes to each customer, and to its own webhooks.
  await publish(request, p, 'acme', { event: 'order.paid', order: 1 });
  await publish(request, p, 'globex', { event: 'order.paid', order: 2 });
  await publish(request, p, null, { event: 'order.paid', order: 3 });
  await expect
    .poll(() => [rx.at('/one/acme').length, rx.at('/one/globex').length, rx.at('/one/platform').length])
    .toEqual([2, 1, 1]);

  // Acme's log: its two deliveries, nothing of the others'.
  await tabs.getByRole('link', { name: 'Delivery log', exact: true }).click();
  await expect(portal).toHaveURL(`${url}/deliveries`);
  await hydrated(portal);
  const rows = portal.locator('tbody tr');
  await expect(rows).toHaveCount(2);
  for (const r of await rows.all()) await expect(r).toContainText(acme);
  content = await portal.content();
  expect(content).not.toContain(globex);
  expect(content).not.toContain(own);

  // The test event's delivery opens on its portal page, and goes again.
  await rows
    .filter({ hasText: 'messages' })
    .locator(`a[href^="/portal/${token}/deliveries/dlv_"]`)
    .first()
    .click();
  await expect(portal).toHaveURL(new RegExp(`/portal/${token}/deliveries/dlv_[^/?]+$`));
  await expect(portal.getByRole('heading', { name: /Attempts \(1\)/ })).toBeVisible();
  await hydrated(portal);
  await portal.getByRole('button', { name: 'Redeliver' }).click();
  await expect(portal.getByRole('status').filter({ hasText: 'Redelivery queued' })).toContainText(
    /Redelivery queued: dlv_/,
  );
  await rx.waitFor(3, '/one/acme');
  expect(validSignature(rx.at('/one/acme')[2], secret)).toBe(true);

  // Back in the log, the redelivery is acme's third.
  await portal.getByRole('link', { name: '← Delivery log' }).click();
  await expect(portal).toHaveURL(`${url}/deliveries`);
  await expect(rows).toHaveCount(3);
  content = await portal.content();
  expect(content).not.toContain(globex);
  expect(content).not.toContain(own);
  await context.close();
});

test('the portal works inside an iframe on another origin, and the dashboard refuses to be framed', async ({
  page,
  request,
  browser,
}) => {
  const p = await project(page, 'Portal: framed');
  const { url } = await portalLink(request, p, 'initech');
  const { context, page: host } = await stranger(browser);

  // The platform's app shows the portal in a frame: any site may frame it
  // (the default), and the link's token is sent in no Referer to other sites.
  const answer = host.waitForResponse((r) => r.url() === url);
  await host.goto(`${appOrigin}/?src=${encodeURIComponent(url)}`);
  const headers = await (await answer).allHeaders();
  expect(headers['content-security-policy']).toContain('frame-ancestors *');
  expect(headers['x-frame-options']).toBeUndefined();
  expect(headers['referrer-policy']).toBe('same-origin');
  const frame = host.frameLocator('iframe');
  await frameHydrated(frame);
  await expect(frame.locator('.portal-bar')).toContainText('Portal: framed');
  await expect(frame.locator('.portal-foot')).toContainText('Account initech');

  // In the frame, the customer adds a webhook and sees its secret once.
  const hook = `${base}/two/initech`;
  await frame.getByRole('button', { name: 'Add webhook' }).first().click();
  const add = frame.getByRole('dialog', { name: 'Add webhook' });
  await add.getByLabel('URL').fill(hook);
  await add.getByRole('button', { name: 'Add webhook' }).click();
  const added = frame.getByRole('dialog', { name: 'Webhook added' });
  await expect(added).toBeVisible();
  await frameHydrated(frame);
  const secret = await added.getByLabel('Signing secret').inputValue();
  expect(secret).toMatch(/^[0-9a-f]{64}$/);
  await saved(added);
  await expect(added).toHaveCount(0);

  // A test event from the frame is delivered, signed with that secret.
  const row = frame.getByRole('row', { name: new RegExp(hook) });
  await row.getByRole('button', { name: 'Send test event' }).click();
  await expect(row.locator('.test-result')).toContainText('Delivered HTTP 200');
  expect(rx.at('/two/initech')).toHaveLength(1);
  expect(validSignature(rx.at('/two/initech')[0], secret)).toBe(true);

  // The app's page again: the webhook is there, its secret is not.
  await host.reload();
  await frameHydrated(frame);
  await expect(row).toBeVisible();
  await expect(frame.getByRole('dialog', { name: 'Webhook added' })).toHaveCount(0);

  // The dashboard says no site may frame it…
  const origin = new URL(url).origin;
  const login = await request.get('/login');
  expect(login.headers()['x-frame-options']).toBe('DENY');
  expect(login.headers()['content-security-policy']).toContain("frame-ancestors 'none'");
  // …and the browser holds to it: once the frame has loaded, it holds no sign-in form.
  await host.goto(`${appOrigin}/?src=${encodeURIComponent(`${origin}/login`)}`);
  await expect(host.locator('iframe')).toHaveAttribute('data-loaded', 'yes');
  const refused = host.frameLocator('iframe');
  await expect(refused.getByRole('button', { name: 'Sign in' })).toHaveCount(0);
  await expect(refused.getByLabel('Password')).toHaveCount(0);
  await context.close();
});

test('an expired link and an altered link say so and show nothing else', async ({ page, request, browser }) => {
  const p = await project(page, 'Portal: old links');
  const hook = `${base}/three/hooli`;
  await register(request, p, hook, { tenant: 'hooli' });

  // A link lives 1 second to 7 days.
  for (const ttlSeconds of [0, 604_801]) {
    const res = await request.post(`/projects/${p.id}/portal-links`, {
      headers: basic(p.id, p.secret),
      data: { tenant: 'hooli', ttlSeconds },
    });
    expect(res.status(), `ttlSeconds ${ttlSeconds}`).toBe(422);
  }
  const expired = await portalLink(request, p, 'hooli', { ttlSeconds: 1 });
  const live = await portalLink(request, p, 'hooli');
  const { context, page: portal } = await stranger(browser);

  // A live link shows the account's webhook…
  await portal.goto(live.url);
  await hydrated(portal);
  await expect(portal.getByRole('row', { name: new RegExp(hook) })).toBeVisible();

  // …the one-second link soon says it has expired (410 Gone), and nothing else.
  let status = 0;
  await expect
    .poll(async () => {
      status = (await portal.goto(expired.url))?.status() ?? 0;
      return portal.getByRole('heading', { name: 'This link has expired' }).count();
    })
    .toBe(1);
  expect(status).toBe(410);
  await refusedAlone(portal, 'This link has expired', hook);

  // A link with one character changed in the middle is not valid (403), on any of its pages.
  const t = live.token;
  const mid = Math.floor(t.length / 2);
  const altered = t.slice(0, mid) + (t[mid] === 'A' ? 'B' : 'A') + t.slice(mid + 1);
  const origin = new URL(live.url).origin;
  for (const path of [`/portal/${altered}`, `/portal/${altered}/deliveries`]) {
    const res = await portal.goto(`${origin}${path}`);
    expect(res?.status(), path).toBe(403);
    await refusedAlone(portal, 'This link is not valid', hook);
  }
  await context.close();
});

test('a read-only link shows and changes nothing', async ({ page, request, browser }) => {
  const p = await project(page, 'Portal: read-only');
  const hook = `${base}/four/wayne`;
  const { id } = await register(request, p, hook, { tenant: 'wayne', description: 'Wayne billing' });
  await publish(request, p, 'wayne', { event: 'invoice.sent', invoice: 7 });
  await rx.waitFor(1, '/four/wayne');
  const { url, token } = await portalLink(request, p, 'wayne', { readOnly: true });
  const { context, page: portal } = await stranger(browser);

  // The list says what the link is, and offers no change.
  await portal.goto(url);
  await hydrated(portal);
  await expect(portal.getByRole('status').filter({ hasText: 'Read-only:' })).toHaveText(
    'Read-only: this link shows your webhooks and deliveries, and changes nothing.',
  );
  const row = portal.getByRole('row', { name: new RegExp(hook) });
  await expect(row).toContainText('Wayne billing');
  await expect(portal.getByRole('button', { name: 'Add webhook' })).toHaveCount(0);
  await expect(portal.getByRole('button', { name: 'Send test event' })).toHaveCount(0);
  await expect(row.locator('details.menu')).toHaveCount(0);

  // The webhook's page: its facts, no actions.
  await row.getByRole('link', { name: hook }).click();
  await expect(portal).toHaveURL(`${url}/webhooks/${id}`);
  await hydrated(portal);
  await expect(portal.getByRole('heading', { name: hook })).toBeVisible();
  for (const name of ['Send test event', 'Replay failed since…', 'Change']) {
    await expect(portal.getByRole('button', { name, exact: true })).toHaveCount(0);
  }

  // The log and the delivery: there to read, with no Redeliver.
  const tabs = portal.getByRole('navigation', { name: 'Portal' });
  await tabs.getByRole('link', { name: 'Delivery log', exact: true }).click();
  await expect(portal).toHaveURL(`${url}/deliveries`);
  const rows = portal.locator('tbody tr');
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toContainText('invoice.sent');
  await rows.first().locator(`a[href^="/portal/${token}/deliveries/dlv_"]`).first().click();
  await expect(portal.getByRole('heading', { name: /Attempts \(1\)/ })).toBeVisible();
  await hydrated(portal);
  await expect(portal.getByRole('button', { name: 'Redeliver' })).toHaveCount(0);

  // Nor does the server take a change sent around the page.
  const refused = await request.post('/api/webhooks/test', {
    headers: { accept: 'application/json' },
    form: { project_id: token, webhook_id: id },
  });
  expect(refused.status()).toBe(403);
  expect(rx.at('/four/wayne')).toHaveLength(1);
  await context.close();
});

test('the portal fits a phone', async ({ page, request, browser }) => {
  const p = await project(page, 'Portal: on a phone');
  const short = `${base}/five/stark`;
  const long = `${base}/five/receivers/a-rather-long-path/that-goes/on-and-on/and-on/webhooks`;
  for (const url of [short, long]) {
    await register(request, p, url, { tenant: 'stark', description: 'Order events for the billing service' });
  }
  await publish(request, p, 'stark', { event: 'order.paid', order: 1 });
  await rx.waitFor(1, '/five/stark');
  const { url } = await portalLink(request, p, 'stark');
  const { context, page: portal } = await stranger(browser);
  await portal.setViewportSize({ width: 390, height: 844 });

  // The list: no sideways scrolling, the main actions and the tabs in sight.
  await portal.goto(url);
  await hydrated(portal);
  const row = portal.getByRole('row', { name: /\/five\/stark/ });
  await expect(row).toBeVisible();
  await expect(portal.getByRole('row', { name: /a-rather-long-path/ })).toBeVisible();
  await fits(portal);
  const tabs = portal.getByRole('navigation', { name: 'Portal' });
  await inSight(portal, tabs.getByRole('link', { name: 'Delivery log', exact: true }));
  await inSight(portal, portal.getByRole('button', { name: 'Add webhook' }));
  await inSight(portal, row.getByRole('button', { name: 'Send test event' }));

  // The add dialog fits too.
  await portal.getByRole('button', { name: 'Add webhook' }).click();
  const add = portal.getByRole('dialog', { name: 'Add webhook' });
  await inSight(portal, add.getByRole('button', { name: 'Add webhook' }));
  await fits(portal);
  await add.getByRole('button', { name: 'Cancel' }).click();
  await expect(add).toBeHidden();

  // The log and a delivery.
  await tabs.getByRole('link', { name: 'Delivery log', exact: true }).click();
  await expect(portal).toHaveURL(`${url}/deliveries`);
  await hydrated(portal);
  // The event went to both of stark's webhooks.
  await expect(portal.locator('tbody tr')).toHaveCount(2);
  await fits(portal);
  await inSight(portal, portal.getByRole('button', { name: 'Apply' }));
  await portal.locator('tbody tr a').first().click();
  await expect(portal.getByRole('heading', { name: /Attempts \(1\)/ })).toBeVisible();
  await hydrated(portal);
  await fits(portal);
  await inSight(portal, portal.getByRole('button', { name: 'Redeliver' }));
  await context.close();
});

test("the portal wears the platform's name and colour, set on the project's settings", async ({
  page,
  request,
  browser,
}) => {
  const p = await project(page, 'Portal: branded');
  await page.goto(`/p/${p.id}/settings`);
  await hydrated(page);
  const card = page.locator('#portal');
  await card.getByLabel('Name shown in the portal').fill('Acme Cloud');
  await card.getByLabel('Accent colour').fill('#0b7285');
  await card.getByRole('button', { name: 'Save portal look' }).click();
  await expect(card.getByRole('status').filter({ hasText: 'Saved.' })).toBeVisible();
  await expect(card.getByLabel('Accent colour')).toHaveValue('#0b7285');

  const { url } = await portalLink(request, p, 'umbrella');
  const { context, page: portal } = await stranger(browser);
  await portal.goto(url);
  await hydrated(portal);
  await expect(portal.locator('.portal-bar')).toContainText('Acme Cloud');
  await expect(portal.locator('.portal-bar')).not.toContainText('Portal: branded');
  await expect(portal).toHaveTitle('Webhooks · Acme Cloud');
  const accent = await portal
    .locator('.portal')
    .evaluate((el) => getComputedStyle(el).getPropertyValue('--accent').trim());
  expect(accent).toBe('#0b7285');
  await context.close();
});
