import { expect, test } from '@playwright/test';
import {
  basic,
  createProject,
  hydrated,
  receiver,
  rowAction,
  saved,
  signIn,
  validSignature,
  type Receiver,
} from './helpers';

// One story: the second test uses the first one's project and webhook.
test.describe.configure({ mode: 'serial' });
let projectId = '';

// A real receiver on 127.0.0.1 (allow-listed by the test server's config):
// it records each delivery and answers with `status`.
let rx: Receiver;
let receiverUrl = '';
let status = 200;

test.beforeAll(async () => {
  rx = await receiver({ answer: () => status });
  receiverUrl = `${rx.url}/hooks`;
});

test.afterAll(async () => {
  await rx?.close();
});

test('send a test event: the row shows the first attempt, the receiver gets it signed', async ({ page, request }) => {
  await signIn(page);
  const project = await createProject(page, 'Deliveries');
  await saved(project.dialog);
  projectId = project.id;
  await page.goto(`/p/${project.id}/webhooks`);
  await hydrated(page);

  await page.getByRole('button', { name: 'Add webhook' }).first().click();
  const add = page.getByRole('dialog', { name: 'Add webhook' });
  await add.getByLabel('URL').fill(receiverUrl);
  await add.getByLabel('Events').fill('user.created');
  await add.getByRole('button', { name: 'Add webhook' }).click();
  const added = page.getByRole('dialog', { name: 'Webhook added' });
  const secret = await added.getByLabel('Signing secret').inputValue();
  await saved(added);

  // A test event goes to this webhook whatever its filter; the row says how it went.
  const row = page.getByRole('row', { name: new RegExp(receiverUrl) });
  await row.getByRole('button', { name: 'Send test event' }).click();
  await expect(row.getByRole('status')).toContainText('Delivered HTTP 200');
  // The row's last delivery and success rate follow without a reload.
  await expect(row.locator('td.last-delivery')).toContainText('Succeeded · 200');
  await expect(row.locator('td.success-rate')).toContainText('100.0%');
  expect(rx.requests).toHaveLength(1);
  const testEvent = JSON.parse(rx.requests[0].body.toString());
  expect(testEvent.event).toBe('messages');
  expect(testEvent.message.id).toMatch(/^spc-msg-/);
  expect(validSignature(rx.requests[0], secret)).toBe(true);

  // A failing receiver shows as a failure, with its status.
  status = 500;
  await row.getByRole('button', { name: 'Send test event' }).click();
  await expect(row.getByRole('status')).toContainText('Failed HTTP 500');
  await expect(row.locator('td.last-delivery')).toContainText('Pending');
  status = 200;

  // Events published through the API reach it too, byte for byte.
  const body = '{"event":"user.created","user":{"id":1}}';
  const res = await request.post(`/projects/${project.id}/events`, {
    headers: { ...basic(project.id, project.secret), 'content-type': 'application/json' },
    data: body,
  });
  expect(res.status()).toBe(202);
  await expect.poll(() => rx.requests.some((d) => d.body.toString() === body)).toBe(true);
});

test('finish a rotation: the hint goes and the new secret signs', async ({ page }) => {
  await signIn(page);
  await page.goto(`/p/${projectId}/webhooks`);
  await hydrated(page);
  const row = page.getByRole('row', { name: new RegExp(receiverUrl) });
  await rowAction(row, 'Rotate secret');
  const rotate = page.getByRole('dialog', { name: 'Rotate signing secret' });
  await rotate.getByLabel('Grace period').selectOption({ label: '24 hours' });
  await rotate.getByRole('button', { name: 'Rotate secret' }).click();
  const shown = page.getByRole('dialog', { name: 'New signing secret' });
  const secret = await shown.getByLabel('Signing secret').inputValue();
  await saved(shown);

  await expect(row).toContainText('Rotating: the old secret works until');
  const before = rx.requests.length;
  await row.getByRole('button', { name: 'Finish rotation' }).click();
  await expect(row).not.toContainText('Rotating');
  await row.getByRole('button', { name: 'Send test event' }).click();
  await expect(row.getByRole('status')).toContainText('Delivered HTTP 200');
  expect(validSignature(rx.requests[before], secret)).toBe(true);
});

test('a receiver that answers 410 Gone disables the webhook; Enable brings it back', async ({ page }) => {
  await signIn(page);
  await page.goto(`/p/${projectId}/webhooks`);
  await hydrated(page);
  const row = page.getByRole('row', { name: new RegExp(receiverUrl) });
  status = 410;
  await row.getByRole('button', { name: 'Send test event' }).click();
  await expect(row.getByRole('status')).toContainText('Failed HTTP 410');
  status = 200;

  // The list shows why it stopped, after a reload as on any later visit.
  await page.reload();
  await hydrated(page);
  await expect(row).toContainText('Disabled automatically');
  await expect(row).toContainText('The receiver answered 410 Gone');
  await rowAction(row, 'Enable');
  await expect(row.locator('.badge.state')).toHaveText('Enabled');
  await expect(row).not.toContainText('410 Gone');
  await row.getByRole('button', { name: 'Send test event' }).click();
  await expect(row.getByRole('status')).toContainText('Delivered HTTP 200');
});
