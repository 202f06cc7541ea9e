import { expect, test } from '@playwright/test';
import { basic, createProject, hydrated, receiver, saved, signIn, type Receiver } from './helpers';

// A receiver that holds every request until the test lets them go: the
// first delivery stays in flight and the next one waits, due, behind it.
let rx: Receiver;
let base = '';
/** Lets one held request have its 200. */
const held: (() => void)[] = [];
let holding = true;

test.beforeAll(async () => {
  rx = await receiver({
    answer: () => (holding ? new Promise<number>((answer) => held.push(() => answer(200))) : 200),
  });
  base = rx.url;
});

test.afterAll(async () => {
  await rx?.close();
});

test('an admin watches the queue fill and drain on the System page', async ({ page, request }) => {
  await signIn(page);
  const p = await createProject(page, 'System watch');
  await saved(p.dialog);
  const res = await request.post(`/projects/${p.id}/webhooks`, {
    headers: basic(p.id, p.secret),
    data: { webhookUrl: `${base}/hold` },
  });
  expect(res.status()).toBe(200);
  for (const n of [1, 2]) {
    const sent = await request.post(`/projects/${p.id}/events`, {
      headers: basic(p.id, p.secret),
      data: { event: 'order.paid', data: { n } },
    });
    expect(sent.status()).toBe(202);
  }
  await expect.poll(() => held.length).toBe(1);

  // From the top bar, as an admin finds it.
  await page.goto('/');
  await hydrated(page);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'System' }).click();
  await expect(page).toHaveURL(/\/system$/);
  await expect(page.getByRole('heading', { name: 'System' })).toBeVisible();

  const workers = page.getByRole('table', { name: 'Workers' });
  await expect(workers.getByText('this process')).toBeVisible();
  // At least the held request in flight (other tests' retries may add some).
  await expect(workers.getByRole('cell', { name: /^[1-9]\d* of \d+$/ })).toBeVisible();
  const queue = page.getByRole('table', { name: 'Queue' });
  const row = queue.getByRole('row').filter({ hasText: 'System watch' });
  // Project, due now (the one in flight and the one behind it), retrying.
  await expect(row.getByRole('cell').nth(1)).toHaveText('2');
  await expect(row.getByRole('cell').nth(2)).toHaveText('0');
  await expect(row.getByRole('link', { name: 'System watch' })).toHaveAttribute(
    'href',
    `/p/${p.id}/deliveries?status=pending`,
  );
  await expect(page.getByRole('table', { name: 'Recent writes' })).toBeVisible();

  // Let the receiver answer: the page, still open, sees the queue drain.
  holding = false;
  for (const release of held.splice(0)) release();
  await expect(row).toHaveCount(0, { timeout: 15_000 });
});
