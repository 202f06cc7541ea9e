import { expect, test } from '@playwright/test';
import { createServer, type ServerResponse, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basic, closeServer, createProject, hydrated, signIn } from './helpers';

// A receiver that holds every request until the test lets them go: the
// first delivery stays in flight and the next one waits, due, behind it.
let server: Server;
let base = '';
const held: ServerResponse[] = [];
let holding = true;

test.beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => (holding ? held.push(res) : res.writeHead(200).end()));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

test.afterAll(async () => {
  await closeServer(server);
});

test('an admin watches the queue fill and drain on the System page', async ({ page, request }) => {
  await signIn(page);
  const p = await createProject(page, 'System watch');
  await p.dialog.getByRole('button', { name: 'I have saved it' }).click();
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
  for (const r of held.splice(0)) r.writeHead(200).end();
  await expect(row).toHaveCount(0, { timeout: 15_000 });
});
