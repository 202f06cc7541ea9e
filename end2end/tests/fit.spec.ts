import { expect, test, type Locator, type Page } from '@playwright/test';
import { basic, createProject, hydrated, receiver, rowAction, saved, signIn, type Receiver } from './helpers';

// Pages fit the screen they are on: from a 360 px phone to a desktop, no
// page scrolls sideways and each page's main action is in sight.
test.describe.configure({ mode: 'serial' });

const PHONES = [
  { width: 360, height: 740 },
  { width: 390, height: 844 },
];
const TABLET = { width: 768, height: 1024 };
const DESKTOP = { width: 1280, height: 800 };

let rx: Receiver;
let base = '';
let project = { id: '', secret: '' };
let delivery = '';
let hook = '';

test.beforeAll(async () => {
  // `/fail` keeps a delivery retrying (and its long badge in the log).
  rx = await receiver({ answer: ({ path }) => (path === '/fail' ? 500 : 200) });
  base = rx.url;
});

test.afterAll(async () => {
  await rx?.close();
});

/** The page does not scroll sideways. */
async function fits(page: Page) {
  const { scroll, client } = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    client: document.documentElement.clientWidth,
  }));
  expect(scroll, `${page.url()} is ${scroll} px wide in a ${client} px window`).toBeLessThanOrEqual(client);
}

/** `target` is visible and wholly inside the window's width. */
async function inSight(page: Page, target: Locator) {
  await expect(target).toBeVisible();
  const box = (await target.boundingBox())!;
  const width = page.viewportSize()!.width;
  expect(box.x).toBeGreaterThanOrEqual(0);
  expect(box.x + box.width).toBeLessThanOrEqual(width);
}

/** Opens the tour project's Webhooks tab, signed in, once it is alive. */
async function openWebhooks(page: Page) {
  await signIn(page);
  await page.goto(`/p/${project.id}/webhooks`);
  await hydrated(page);
}

/** Opens the delivery log: it fits and its filters apply from in sight. */
async function openLog(page: Page) {
  await page.goto(`/p/${project.id}/deliveries`);
  await hydrated(page);
  await expect(page.locator(`tr[data-delivery="${delivery}"]`)).toBeVisible();
  await fits(page);
  await inSight(page, page.getByRole('button', { name: 'Apply' }));
}

/** On a delivery's page (opened by the caller): it fits, Redeliver in sight. */
async function deliveryFits(page: Page) {
  await expect(page.getByRole('heading', { name: /Attempts \(1\)/ })).toBeVisible();
  await fits(page);
  await inSight(page, page.getByRole('button', { name: 'Redeliver' }));
}

test('a project with webhooks and a delivery', async ({ page, request }) => {
  await signIn(page);
  const p = await createProject(page, 'Fit on every screen');
  await saved(p.dialog);
  project = { id: p.id, secret: p.secret };
  const auth = { headers: basic(p.id, p.secret) };
  const long = `${base}/receivers/a-rather-long-path/that-goes/on-and-on/webhooks?tenant=north-east`;
  for (const url of [`${base}/ok/tour`, long, `${base}/fail`]) {
    const res = await request.post(`/projects/${p.id}/webhooks`, {
      ...auth,
      data: { webhookUrl: url, description: 'Order events for the billing service' },
    });
    expect(res.status()).toBe(200);
    if (url.endsWith('/ok/tour')) hook = (await res.json()).data.id;
  }
  const res = await request.post(`/projects/${p.id}/events`, {
    ...auth,
    data: { event: 'order.paid', data: { order: 1 } },
  });
  expect(res.status()).toBe(202);
  await page.goto(`/p/${p.id}/deliveries?webhook=${hook}&status=succeeded`);
  await hydrated(page);
  const row = page.locator('tbody tr').first();
  await expect(row).toContainText('Succeeded');
  delivery = (await row.getAttribute('data-delivery'))!;
  expect(delivery).toMatch(/^dlv_/);
});

for (const size of PHONES) {
  test.describe(`at ${size.width} × ${size.height}`, () => {
    test.use({ viewport: size });

    test('the Webhooks tab: rows stacked, the main actions in sight', async ({ page }) => {
      await openWebhooks(page);
      await fits(page);
      await inSight(page, page.getByRole('button', { name: 'Add webhook' }));
      const row = page.getByRole('row', { name: /\/ok\/tour/ });
      await inSight(page, row.locator('code.url'));
      await inSight(page, row.getByRole('button', { name: 'Send test event' }));
      await inSight(page, row.locator('.badge.state'));
      // The other actions wait in the row's menu, which opens in sight.
      await row.locator('details.menu summary').click();
      await inSight(page, row.getByRole('button', { name: 'Rotate secret' }));
      await fits(page);
      // One menu open at a time; Escape folds it.
      const other = page.getByRole('row', { name: /\/fail/ });
      await other.locator('details.menu summary').click();
      await expect(other.getByRole('button', { name: 'Delete' })).toBeVisible();
      await expect(row.getByRole('button', { name: 'Rotate secret' })).toBeHidden();
      await page.keyboard.press('Escape');
      await expect(other.getByRole('button', { name: 'Delete' })).toBeHidden();
      await rowAction(row, 'Edit');
      const edit = page.getByRole('dialog', { name: 'Edit webhook' });
      await inSight(page, edit.getByRole('button', { name: 'Save' }));
      await fits(page);
    });

    test('the top bar folds behind Menu', async ({ page }) => {
      await signIn(page);
      await fits(page);
      const nav = page.getByRole('navigation', { name: 'Main' });
      await expect(nav).toBeHidden();
      const menu = page.getByRole('button', { name: 'Menu' });
      await inSight(page, menu);
      await expect(menu).toHaveAttribute('aria-expanded', 'false');
      await menu.click();
      await expect(menu).toHaveAttribute('aria-expanded', 'true');
      await inSight(page, nav.getByRole('link', { name: 'Team' }));
      await inSight(page, page.getByRole('button', { name: 'Sign out' }));
      await fits(page);
      // A navigation folds it again.
      await nav.getByRole('link', { name: 'Team' }).click();
      await expect(page.getByRole('heading', { name: 'Team', level: 1 })).toBeVisible();
      await expect(nav).toBeHidden();
    });

    test('the delivery log: filters and rows fit', async ({ page }) => {
      await signIn(page);
      await openLog(page);
      await inSight(page, page.getByLabel('Webhook', { exact: true }));
      await inSight(page, page.locator(`tr[data-delivery="${delivery}"] [data-status]`));
    });

    test('a delivery: its facts, body and Redeliver fit', async ({ page }) => {
      await signIn(page);
      await page.goto(`/p/${project.id}/deliveries/${delivery}`);
      await hydrated(page);
      await deliveryFits(page);
      await inSight(page, page.getByRole('heading', { name: new RegExp(delivery) }));
    });

    test('every other page fits too', async ({ page }) => {
      await signIn(page);
      for (const path of [
        '/',
        `/p/${project.id}/webhooks/${hook}`,
        `/p/${project.id}/activity`,
        `/p/${project.id}/settings`,
        '/team',
        '/account',
        '/system',
      ]) {
        await page.goto(path);
        await hydrated(page);
        await expect(page.locator('main h1, main h2').first()).toBeVisible();
        await fits(page);
      }
    });
  });
}

test.describe(`at ${TABLET.width} × ${TABLET.height}`, () => {
  test.use({ viewport: TABLET });

  test('the Webhooks tab, the delivery log, a delivery and the other pages fit', async ({ page }) => {
    await openWebhooks(page);
    await expect(page.getByRole('row', { name: /\/ok\/tour/ })).toBeVisible();
    await fits(page);
    await inSight(page, page.getByRole('button', { name: 'Add webhook' }));
    await inSight(page, page.getByRole('row', { name: /\/ok\/tour/ }).getByRole('button', { name: 'Send test event' }));
    await openLog(page);
    await page.goto(`/p/${project.id}/deliveries/${delivery}`);
    await hydrated(page);
    await deliveryFits(page);
    for (const path of ['/', `/p/${project.id}/webhooks/${hook}`, '/team', '/account', '/system']) {
      await page.goto(path);
      await hydrated(page);
      await fits(page);
    }
  });
});

test.describe(`at ${DESKTOP.width} × ${DESKTOP.height}`, () => {
  test.use({ viewport: DESKTOP });

  test('the Webhooks tab gives each URL its room', async ({ page }) => {
    await openWebhooks(page);
    await fits(page);
    await expect(page.getByRole('button', { name: 'Menu' })).toBeHidden();
    await expect(page.getByRole('navigation', { name: 'Main' })).toBeVisible();
    const row = page.getByRole('row', { name: /\/ok\/tour/ });
    // The URL stays on one line (an inline box broken over lines has one
    // rectangle per line).
    const lines = await row.locator('code.url').evaluate((e) => e.getClientRects().length);
    expect(lines).toBe(1);
    // A long URL wraps inside a column that keeps at least 18 rem (288 px).
    const long = page.getByRole('row', { name: /a-rather-long-path/ });
    const cell = (await long.locator('td.url').boundingBox())!;
    expect(cell.width).toBeGreaterThanOrEqual(288);
    await inSight(page, row.getByRole('button', { name: 'Send test event' }));
    await inSight(page, page.getByRole('button', { name: 'Add webhook' }));
  });

  test('the delivery log and a delivery fit', async ({ page, request }) => {
    await signIn(page);
    // A fresh event: its delivery to /fail is retrying, with the log's
    // longest status, while the log is looked at.
    const res = await request.post(`/projects/${project.id}/events`, {
      headers: basic(project.id, project.secret),
      data: { event: 'order.paid', data: { order: 2 } },
    });
    expect(res.status()).toBe(202);
    await openLog(page);
    const retrying = page.locator('table.log tbody tr', { hasText: 'Retrying' }).first();
    await expect(retrying).toBeVisible();
    // Its URL is not broken every few characters beside the long status:
    // the column keeps 16 rem (256 px) and a short URL stays on one line.
    const url = retrying.locator('td.url');
    expect((await url.boundingBox())!.width).toBeGreaterThanOrEqual(256);
    expect(await url.locator('code.url').evaluate((e) => e.getClientRects().length)).toBe(1);
    await page.locator(`tr[data-delivery="${delivery}"] a`).first().click();
    await deliveryFits(page);
  });
});
