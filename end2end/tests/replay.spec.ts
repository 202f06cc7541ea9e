import { expect, test } from '@playwright/test';
import { basic, hydrated, project, receiver, register, type Receiver } from './helpers';

// "Replay these…" on the delivery log: the page's filters become a bulk
// replay, which says how many deliveries it will send before it sends them.

// `/down` answers 500 while `down` is set, then 200; `/up` always 200.
let rx: Receiver;
let base = '';
let down = true;

test.beforeAll(async () => {
  rx = await receiver({ answer: ({ path }) => (path === '/down' && down ? 500 : 200) });
  base = rx.url;
});

test.afterAll(async () => {
  await rx?.close();
});

test("replay the log's filtered failures after seeing how many", async ({ page, request }) => {
  test.setTimeout(60_000);
  const p = await project(page, 'Replay Desk');
  // Unordered: the three fail side by side, in one round of retries.
  const failing = await register(request, p, `${base}/down`, { ordering: 'unordered' });
  await register(request, p, `${base}/up`);
  for (const event of ['order.created', 'order.created', 'order.paid']) {
    const res = await request.post(`/projects/${p.id}/events`, { headers: basic(p.id, p.secret), data: { event } });
    expect(res.status()).toBe(202);
  }

  // All three to /down failed (after their attempts)...
  const rows = page.locator('#log-results tbody tr');
  await page.goto(`/p/${p.id}/deliveries?status=failed`);
  await expect(async () => {
    await page.reload();
    await expect(rows).toHaveCount(3);
  }).toPass({ timeout: 25_000 });
  // ...and the log shows the failures of one event type, in the last hour.
  await page.goto(`/p/${p.id}/deliveries?status=failed&event=order.created&range=1h`);
  await hydrated(page);
  await expect(rows).toHaveCount(2);

  down = false;
  await page.getByRole('link', { name: 'Replay these…' }).click();
  const confirm = page.getByRole('dialog', { name: 'Replay these deliveries' });
  await expect(confirm.getByRole('heading')).toHaveText('Replay 2 deliveries?');
  await confirm.getByRole('button', { name: 'Replay 2 deliveries' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Replay started: 2 deliveries' })).toBeVisible();
  await expect(confirm).toBeHidden();

  // Sent again, and received: the log's replays to the failing webhook succeed.
  await page.goto(`/p/${p.id}/deliveries?webhook=${failing.id}&status=succeeded`);
  await expect(async () => {
    await page.reload();
    await expect(page.locator('#log-results tbody tr')).toHaveCount(2);
  }).toPass({ timeout: 20_000 });
  await expect(page.locator('#log-results tbody tr').filter({ hasText: 'replay' })).toHaveCount(2);
  await expect(page.locator('#log-results tbody tr').filter({ hasText: 'order.paid' })).toHaveCount(0);
});
