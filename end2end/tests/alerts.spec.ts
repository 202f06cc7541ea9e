import { expect, test } from '@playwright/test';
import { basic, hydrated, project, receiver, register, saved, type Receiver } from './helpers';

// Alerts: a webhook that Signpost disables shows on its project's pages
// until it is enabled again; a teammate turns alert emails off on the
// Account page.

let rx: Receiver;
let base = '';

test.beforeAll(async () => {
  // Answers 410 Gone: the webhook is disabled at once.
  rx = await receiver({ answer: 410 });
  base = rx.url;
});

test.afterAll(async () => {
  await rx?.close();
});

test("a disabled webhook is a notice on its project's pages until it is enabled again", async ({ page, request }) => {
  const p = await project(page, 'Alerts: notice');
  const url = `${base}/gone`;
  const { id } = await register(request, p, url);
  const res = await request.post(`/projects/${p.id}/events`, { headers: basic(p.id, p.secret), data: { event: 'e' } });
  expect(res.status()).toBe(202);

  // The log (and every page of the project) says what needs attention.
  await expect
    .poll(async () => {
      await page.goto(`/p/${p.id}/deliveries`);
      return page.getByRole('alert').filter({ hasText: 'Needs attention' }).count();
    })
    .toBe(1);
  const notice = page.getByRole('alert').filter({ hasText: 'Needs attention' });
  await expect(notice).toContainText(url);
  await expect(notice).toContainText('was disabled automatically');
  await notice.getByRole('link', { name: url }).click();
  await expect(page).toHaveURL(`/p/${p.id}/webhooks/${id}`);

  // Enabled again: the notice goes once the next look finds it recovered.
  const enabled = await request.patch(`/projects/${p.id}/webhooks/${id}`, {
    headers: basic(p.id, p.secret),
    data: { enabled: true },
  });
  expect(enabled.status()).toBe(200);
  await expect
    .poll(async () => {
      await page.goto(`/p/${p.id}/webhooks`);
      return page.getByRole('alert').filter({ hasText: 'Needs attention' }).count();
    })
    .toBe(0);
});

test('a teammate turns alert emails off, and on again, on the Account page', async ({ page }) => {
  await project(page, 'Alerts: account');
  await page.goto('/account');
  await hydrated(page);
  const card = page.locator('#alert-emails');
  await expect(card).toContainText('You get alert emails.');
  await card.getByRole('button', { name: 'Turn alert emails off' }).click();
  await expect(card).toContainText('You get no alert emails.');
  await expect(card.getByRole('status')).toHaveText('Saved.');
  await page.reload();
  await hydrated(page);
  await expect(card).toContainText('You get no alert emails.');
  await card.getByRole('button', { name: 'Turn alert emails on' }).click();
  await expect(card).toContainText('You get alert emails.');
});

test("a project's alert URL is set on its settings, with its signing secret shown once", async ({ page, request }) => {
  const p = await project(page, 'Alerts: URL');
  await page.goto(`/p/${p.id}/settings`);
  await hydrated(page);
  const card = page.locator('#alerts');
  await card.getByLabel('Alert URL').fill(`${base}/alerts`);
  await card.getByLabel('Format').selectOption('slack');
  await card.getByRole('button', { name: 'Save alerts' }).click();
  const shown = page.getByRole('dialog', { name: 'Alert URL set' });
  await expect(shown).toBeVisible();
  const secret = await shown.getByLabel('Signing secret').inputValue();
  expect(secret).toMatch(/^[0-9a-f]{64}$/);
  await saved(shown);
  await expect(card.getByLabel('Alert URL')).toHaveValue(`${base}/alerts`);
  await expect(card.getByLabel('Format')).toHaveValue('slack');
  const got = await request.get(`/projects/${p.id}/alerts`, { headers: basic(p.id, p.secret) });
  expect((await got.json()).data).toEqual({ webhookUrl: `${base}/alerts`, format: 'slack' });

  // A URL the guard refuses is said in the card, and nothing changes.
  await card.getByLabel('Alert URL').fill('https://10.0.0.1/alerts');
  await card.getByRole('button', { name: 'Save alerts' }).click();
  await expect(card.getByRole('alert')).toContainText('private address');
  const still = await request.get(`/projects/${p.id}/alerts`, { headers: basic(p.id, p.secret) });
  expect((await still.json()).data.webhookUrl).toBe(`${base}/alerts`);
});
