import { expect, test } from '@playwright/test';
import { ADMIN, saved } from './helpers';

// The dashboard is server-drawn pages and form posts: without its script
// (blocked, failed to load, or not loaded yet) a person can still do the
// work. Dialogs open through the browser's invoker commands, menus are
// <details>, and each form posts and comes back.
test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('create a project, add a webhook and see its secret once, disable it, refused input says why', async ({ page }) => {
    await page.goto('/login?next=/');
    await page.getByLabel('Email').fill(ADMIN.email);
    await page.getByLabel('Password').fill(ADMIN.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('heading', { name: 'Projects' })).toBeVisible();

    await page.getByLabel('Name', { exact: true }).fill('Plain forms');
    await page.getByRole('button', { name: 'Create project' }).click();
    const created = page.getByRole('dialog', { name: 'Project created' });
    const id = await created.getByLabel('Project ID').inputValue();
    expect(id).toMatch(/^prj_/);
    await saved(created);
    await expect(created).toHaveCount(0);

    await page.goto(`/p/${id}/webhooks`);
    await page.getByRole('button', { name: 'Add webhook' }).first().click();
    const add = page.getByRole('dialog', { name: 'Add webhook' });
    await add.getByLabel('URL').fill('http://127.0.0.1:9/plain');
    await add.getByRole('button', { name: 'Add webhook' }).click();
    const added = page.getByRole('dialog', { name: 'Webhook added' });
    const secret = await added.getByLabel('Signing secret').inputValue();
    expect(secret).toMatch(/^[0-9a-f]{64}$/);
    await saved(added);
    await expect(added).toHaveCount(0);
    // Shown once: the next visit has no trace of it.
    await page.reload();
    expect(await page.content()).not.toContain(secret);

    const row = page.getByRole('row', { name: /127\.0\.0\.1:9\/plain/ });
    await row.locator('details.menu summary').click();
    await row.getByRole('button', { name: 'Disable', exact: true }).click();
    await expect(row.locator('.badge.state')).toHaveText('Disabled');

    // A refusal comes back with the page, above the list.
    await row.locator('details.menu summary').click();
    await row.getByRole('button', { name: 'Edit', exact: true }).click();
    const edit = page.getByRole('dialog', { name: 'Edit webhook' });
    await edit.getByLabel('Events').fill('bad name!');
    await edit.getByRole('button', { name: 'Save' }).click();
    await expect(page.getByRole('alert')).toContainText('is not an event name');
    await expect(row.locator('td.events')).toHaveText('*');
  });
});
