import { expect, test } from '@playwright/test';
import { basic, hydrated, project, receiver, register, type Receiver } from './helpers';

// Ordering keys, concurrency and rate limits (issue 22): a teammate sets
// them on the webhook's page and reads them back in words; the delivery
// log shows each delivery's key and filters by it.

let rx: Receiver;
let base = '';

test.beforeAll(async () => {
  rx = await receiver();
  base = rx.url;
});

test.afterAll(async () => {
  await rx?.close();
});

test("a webhook's key, concurrency and rate are set on its page and read back in words", async ({ page, request }) => {
  const p = await project(page, 'Ordering: pace');
  const { id } = await register(request, p, `${base}/pace`);
  await page.goto(`/p/${p.id}/webhooks/${id}`);
  await hydrated(page);
  await expect(page.locator('#webhook-pace')).toHaveText('In order, one at a time');

  // A pointer without its leading slash is refused in the dialog, and what
  // was typed stays there.
  await page.getByRole('button', { name: 'Change' }).click();
  const dialog = page.getByRole('dialog', { name: 'Delivery order and pace' });
  await expect(dialog).toBeVisible();
  await dialog.getByLabel('Ordering key').fill('space/id');
  await dialog.getByRole('button', { name: 'Save' }).click();
  await expect(dialog.getByRole('alert')).toContainText('JSON Pointer');
  await expect(dialog.getByLabel('Ordering key')).toHaveValue('space/id');

  await dialog.getByLabel('Ordering key').fill('/space/id');
  await dialog.getByLabel('At once, at most').fill('32');
  await dialog.getByLabel('Deliveries per second, at most').fill('50');
  await dialog.getByRole('button', { name: 'Save' }).click();
  await expect(page.locator('#webhook-pace')).toHaveText('In order per /space/id, up to 32 at once, at most 50/s');
  await expect(page.getByRole('status').filter({ hasText: 'Saved:' })).toBeVisible();

  // The API reads what the page saved.
  const got = await request.get(`/projects/${p.id}/webhooks/${id}`, { headers: basic(p.id, p.secret) });
  const data = (await got.json()).data;
  expect([data.orderingKey, data.maxConcurrency, data.rateLimit]).toEqual(['/space/id', 32, 50]);

  // Emptied fields go back to the defaults: no limit, 16 at once with a key.
  await page.getByRole('button', { name: 'Change' }).click();
  await dialog.getByLabel('At once, at most').fill('');
  await dialog.getByLabel('Deliveries per second, at most').fill('');
  await dialog.getByRole('button', { name: 'Save' }).click();
  await expect(page.locator('#webhook-pace')).toHaveText('In order per /space/id, up to 16 at once');
});

test('the delivery log shows each delivery\'s key and filters by it', async ({ page, request }) => {
  const p = await project(page, 'Ordering: log');
  await register(request, p, `${base}/log`, { orderingKey: '/space/id' });
  const events = [];
  for (let n = 0; n < 6; n++) {
    events.push({ event: 'messages', space: { id: n % 2 ? 'spc_odd' : 'spc_even' }, n });
  }
  const res = await request.post(`/projects/${p.id}/events/batch`, { headers: basic(p.id, p.secret), data: events });
  expect(res.status()).toBe(202);

  await page.goto(`/p/${p.id}/deliveries`);
  await hydrated(page);
  const rows = page.locator('tbody tr');
  await expect(rows).toHaveCount(6);
  await expect(rows.first()).toContainText('key spc_odd');

  // Filtered by a key typed in the filters…
  await page.getByLabel('Ordering key').fill('spc_even');
  await page.getByRole('button', { name: 'Apply' }).click();
  await expect(page).toHaveURL(/key=spc_even/);
  await expect(rows).toHaveCount(3);
  for (const row of await rows.all()) await expect(row).toContainText('key spc_even');

  // …or by following a delivery's key.
  await page.goto(`/p/${p.id}/deliveries`);
  await hydrated(page);
  await rows.first().getByRole('link', { name: 'spc_odd' }).click();
  await expect(page).toHaveURL(/key=spc_odd/);
  await expect(rows).toHaveCount(3);
  await expect(page.getByLabel('Ordering key')).toHaveValue('spc_odd');
});
