import { expect, test } from '@playwright/test';
import { basic, createProject, hydrated, rowAction, saved, signIn } from './helpers';

// One story on one database: projects first, then a webhook's whole life.
test.describe.configure({ mode: 'serial' });

let acme = { id: '', secret: '' };
const HOOK_URL = 'http://127.0.0.1:9/hooks';

test.beforeEach(async ({ page }) => {
  await signIn(page);
});

test('create a project: its credentials are shown once', async ({ page, request }) => {
  const { id, secret, dialog } = await createProject(page, 'Acme');
  expect(id).toMatch(/^prj_[A-Za-z0-9]{20}$/);
  expect(secret).toMatch(/^[0-9a-f]{64}$/);
  await saved(dialog);
  await expect(dialog).toHaveCount(0);
  await expect(page.getByRole('link', { name: 'Acme' })).toBeVisible();
  // Gone for good: not in the page after a reload.
  await page.reload();
  await hydrated(page);
  expect(await page.content()).not.toContain(secret);
  // The credentials work against the API.
  const res = await request.get(`/projects/${id}/webhooks`, { headers: basic(id, secret) });
  expect(res.status()).toBe(200);
  acme = { id, secret };
});

test('a form sent by script carries the button that sent it, as a plain post does', async ({ page }) => {
  await page.goto('/');
  await hydrated(page);
  // No dashboard form names its button yet: one that does, added here.
  await page.evaluate(() => {
    const create = [...document.querySelectorAll('form')].find((f) =>
      f.querySelector('button')?.textContent?.includes('Create project'),
    );
    const button = document.createElement('button');
    button.type = 'submit';
    button.name = 'intent';
    button.value = 'check';
    button.textContent = 'Check';
    create!.append(button);
  });
  // The server's answer is the test's: nothing is made.
  let body = '';
  await page.route('**/api/**', async (route) => {
    body = route.request().postData() ?? '';
    await route.fulfill({
      status: 400,
      contentType: 'application/json',
      body: JSON.stringify({ Invalid: 'Stopped by the test' }),
    });
  });
  await page.getByLabel('Name', { exact: true }).fill('Never made');
  await page.getByRole('button', { name: 'Check' }).click();
  await expect(page.getByText('Stopped by the test')).toBeVisible();
  const sent = new URLSearchParams(body);
  expect(sent.get('intent')).toBe('check');
  expect([...sent.values()]).toContain('Never made');
  await page.unroute('**/api/**');
});

test('regenerate the project secret: the old one stops working at once', async ({ page, request }) => {
  await page.goto(`/p/${acme.id}/settings`);
  await hydrated(page);
  await page.getByRole('button', { name: 'Regenerate secret' }).click();
  const confirm = page.getByRole('dialog', { name: 'Regenerate the project secret?' });
  await confirm.getByRole('button', { name: 'Regenerate secret' }).click();
  const shown = page.getByRole('dialog', { name: 'New project secret' });
  const secret = await shown.getByLabel('Project secret').inputValue();
  expect(secret).toMatch(/^[0-9a-f]{64}$/);
  expect(secret).not.toBe(acme.secret);
  await saved(shown);
  await expect(shown).toHaveCount(0);

  const old = await request.get(`/projects/${acme.id}/webhooks`, { headers: basic(acme.id, acme.secret) });
  expect(old.status()).toBe(401);
  const fresh = await request.get(`/projects/${acme.id}/webhooks`, { headers: basic(acme.id, secret) });
  expect(fresh.status()).toBe(200);
  acme.secret = secret;
});

test('rename a project and switch between projects', async ({ page }) => {
  const beta = await createProject(page, 'Beta');
  await saved(beta.dialog);

  await page.goto(`/p/${acme.id}/settings`);
  await hydrated(page);
  await page.getByLabel('Project name').fill('Acme Inc');
  await page.getByRole('button', { name: 'Save name' }).click();
  await expect(page.getByRole('status')).toHaveText('Saved.');
  await expect(page.getByRole('heading', { level: 1, name: 'Acme Inc' })).toBeVisible();

  await page.getByLabel('Switch project').click();
  await page.getByRole('menuitem', { name: 'Beta' }).click();
  await expect(page).toHaveURL(new RegExp(`/p/${beta.id}/webhooks$`));
  await expect(page.getByRole('heading', { level: 1, name: 'Beta' })).toBeVisible();
});

test('add a webhook: refused URLs say why, the secret is shown once and copies', async ({ page }) => {
  await page.goto(`/p/${acme.id}/webhooks`);
  await hydrated(page);
  await expect(page.getByText('No webhooks yet')).toBeVisible();
  await page.getByRole('button', { name: 'Add webhook' }).first().click();
  const add = page.getByRole('dialog', { name: 'Add webhook' });

  await add.getByLabel('URL').fill('http://example.com/hooks');
  await add.getByRole('button', { name: 'Add webhook' }).click();
  await expect(add.getByRole('alert')).toHaveText('The URL must use https');
  // Refused in place: what was typed is still there to correct.
  await expect(add.getByLabel('URL')).toHaveValue('http://example.com/hooks');

  await add.getByLabel('URL').fill('https://10.0.0.1/hooks');
  await add.getByRole('button', { name: 'Add webhook' }).click();
  await expect(add.getByRole('alert')).toHaveText(
    'The URL points to a private address (10.0.0.1), which is not allowed',
  );

  await add.getByLabel('URL').fill(HOOK_URL);
  await add.getByLabel('Description').fill('Billing service');
  // Enter in a field sends the form (Cancel is not its default button).
  await add.getByLabel('Description').press('Enter');
  const added = page.getByRole('dialog', { name: 'Webhook added' });
  const secret = await added.getByLabel('Signing secret').inputValue();
  expect(secret).toMatch(/^[0-9a-f]{64}$/);
  await added.getByRole('button', { name: 'Copy' }).click();
  await expect(added.getByRole('button', { name: 'Copied' })).toBeVisible();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);
  await saved(added);
  await expect(added).toHaveCount(0);

  const row = page.getByRole('row', { name: new RegExp(HOOK_URL) });
  await expect(row).toContainText('Billing service');
  await expect(row).toContainText('Enabled');
  await expect(row).toContainText('spectrum-v0');
  await page.reload();
  await hydrated(page);
  expect(await page.content()).not.toContain(secret);
});

test('disable, enable and edit the events of a webhook', async ({ page }) => {
  await page.goto(`/p/${acme.id}/webhooks`);
  await hydrated(page);
  const row = page.getByRole('row', { name: new RegExp(HOOK_URL) });
  await rowAction(row, 'Disable');
  await expect(row.locator('.badge.state')).toHaveText('Disabled');
  await rowAction(row, 'Enable');
  await expect(row.locator('.badge.state')).toHaveText('Enabled');

  await rowAction(row, 'Edit');
  const edit = page.getByRole('dialog', { name: 'Edit webhook' });
  await edit.getByLabel('Events').fill('messages, user.created');
  await edit.getByRole('button', { name: 'Save' }).click();
  await expect(edit).toHaveCount(0);
  await expect(row.locator('td.events')).toHaveText('messages, user.created');

  // An invalid name is refused in place, and nothing changes.
  await rowAction(row, 'Edit');
  await edit.getByLabel('Events').fill('bad name!');
  await edit.getByRole('button', { name: 'Save' }).click();
  await expect(edit.getByRole('alert')).toContainText('is not an event name');
  await edit.getByRole('button', { name: 'Cancel' }).click();
  await expect(row.locator('td.events')).toHaveText('messages, user.created');
});

test('rotate the signing secret with a grace period', async ({ page }) => {
  await page.goto(`/p/${acme.id}/webhooks`);
  await hydrated(page);
  const row = page.getByRole('row', { name: new RegExp(HOOK_URL) });
  await rowAction(row, 'Rotate secret');
  const rotate = page.getByRole('dialog', { name: 'Rotate signing secret' });
  await expect(rotate).toContainText('keeps signing with the old secret');
  await rotate.getByLabel('Grace period').selectOption({ label: '7 days' });
  await rotate.getByRole('button', { name: 'Rotate secret' }).click();
  const shown = page.getByRole('dialog', { name: 'New signing secret' });
  expect(await shown.getByLabel('Signing secret').inputValue()).toMatch(/^[0-9a-f]{64}$/);
  await expect(shown).toContainText('The old secret works until');
  await saved(shown);
  await expect(shown).toHaveCount(0);
});

test('delete a webhook after confirming', async ({ page }) => {
  await page.goto(`/p/${acme.id}/webhooks`);
  await hydrated(page);
  const row = page.getByRole('row', { name: new RegExp(HOOK_URL) });
  await rowAction(row, 'Delete');
  const confirm = page.getByRole('dialog', { name: 'Delete webhook?' });
  await expect(confirm).toContainText(HOOK_URL);
  await confirm.getByRole('button', { name: 'Cancel' }).click();
  await expect(row).toBeVisible();

  await rowAction(row, 'Delete');
  await confirm.getByRole('button', { name: 'Delete webhook' }).click();
  await expect(row).toHaveCount(0);
  await expect(page.getByText('No webhooks yet')).toBeVisible();
});
