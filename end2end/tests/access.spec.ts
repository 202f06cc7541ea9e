import { expect, test, type Browser, type Page } from '@playwright/test';
import { createProject, hydrated, project, register, saved } from './helpers';

// Access per project and the viewer role: an admin gives a teammate the
// projects they need; the teammate sees those and nothing else; a viewer
// reads them with no button that changes anything.

const PASSWORD = 'a teammate password';

/** A fresh browser (its own cookies), as the teammate's own computer. */
async function freshPage(browser: Browser): Promise<Page> {
  const context = await browser.newContext();
  return context.newPage();
}

/** Adds a teammate on the Team page with `role` and the projects named; returns their link. */
async function addTeammate(page: Page, email: string, role: 'member' | 'viewer', projects: string[]) {
  await page.goto('/team');
  await hydrated(page);
  await page.getByRole('button', { name: 'Add teammate' }).click();
  const dialog = page.getByRole('dialog', { name: 'Add teammate' });
  await dialog.getByLabel('Email').fill(email);
  await dialog.getByLabel('Role').selectOption(role);
  for (const name of projects) await dialog.getByLabel(name).check();
  await dialog.getByRole('button', { name: 'Add teammate' }).click();
  const shown = page.getByRole('dialog', { name: 'One-time sign-in link' });
  await expect(shown).toBeVisible();
  const link = await shown.getByLabel('Sign-in link').inputValue();
  await shown.getByRole('button', { name: 'Done' }).click();
  await expect(shown).toHaveCount(0);
  return link;
}

/** Opens the link, chooses a password, and lands on the projects page. */
async function join(page: Page, link: string) {
  await page.goto(link);
  await hydrated(page);
  await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await page.getByLabel('Password, again').fill(PASSWORD);
  await page.getByRole('button', { name: 'Set password and sign in' }).click();
  await expect(page.getByRole('heading', { name: 'Projects' })).toBeVisible();
  await hydrated(page);
}

test('an admin gives a teammate one project; the teammate sees only it, then one more', async ({ page, browser }) => {
  const granted = await project(page, 'Access: granted');
  const hidden = await createProject(page, 'Access: hidden');
  await saved(hidden.dialog);
  const email = 'granted@example.com';
  const link = await addTeammate(page, email, 'member', ['Access: granted']);
  const row = page.locator('tbody tr', { hasText: email });
  await expect(row.locator('td.projects')).toHaveText('Access: granted');

  const mate = await freshPage(browser);
  await join(mate, link);
  const list = mate.locator('table');
  await expect(list.getByRole('link', { name: 'Access: granted' })).toBeVisible();
  await expect(list.getByRole('link', { name: 'Access: hidden' })).toHaveCount(0);
  // The project switcher offers the same one only.
  await mate.locator('.switcher summary').click();
  await expect(mate.locator('.switcher').getByRole('menuitem', { name: 'Access: hidden' })).toHaveCount(0);
  // The other project's address answers as if it did not exist.
  const res = await mate.goto(`/p/${hidden.id}/webhooks`);
  expect(res?.status()).toBe(404);
  await expect(mate.getByText('Access: hidden')).toHaveCount(0);
  // Its own opens.
  await mate.goto(`/p/${granted.id}/webhooks`);
  await expect(mate.getByRole('heading', { level: 1, name: 'Access: granted' })).toBeVisible();

  // The admin gives one more, from the teammate's row.
  await row.getByRole('button', { name: 'Projects…' }).click();
  const give = page.getByRole('dialog', { name: 'Projects' });
  await expect(give.getByLabel('Access: granted')).toBeChecked();
  await give.getByLabel('Access: hidden').check();
  await give.getByRole('button', { name: 'Save projects' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'their projects are changed' })).toBeVisible();
  await expect(row.locator('td.projects')).toHaveText('Access: granted, Access: hidden');
  await mate.goto('/');
  await expect(mate.locator('table').getByRole('link', { name: 'Access: hidden' })).toBeVisible();
  await mate.context().close();
});

test('a viewer reads a project and sees no button that changes it', async ({ page, request, browser }) => {
  const p = await project(page, 'Access: read only');
  await register(request, p, 'http://127.0.0.1:9/viewed');
  const link = await addTeammate(page, 'viewer@example.com', 'viewer', ['Access: read only']);
  await expect(page.locator('tbody tr', { hasText: 'viewer@example.com' }).locator('td.role')).toHaveText('Viewer');

  const viewer = await freshPage(browser);
  await join(viewer, link);
  // No "New project" on the projects page.
  await expect(viewer.getByRole('heading', { name: 'New project' })).toHaveCount(0);
  await expect(viewer.locator('table').getByRole('link', { name: 'Access: read only' })).toBeVisible();

  // The webhooks: read, with no change.
  await viewer.goto(`/p/${p.id}/webhooks`);
  await hydrated(viewer);
  await expect(viewer.getByText('http://127.0.0.1:9/viewed')).toBeVisible();
  for (const name of ['Add webhook', 'Send test event', 'More']) {
    await expect(viewer.getByRole('button', { name, exact: true })).toHaveCount(0);
  }
  await expect(viewer.locator('details.menu')).toHaveCount(0);

  // A webhook's page: its facts, the verification snippets, no action.
  await viewer.getByRole('link', { name: 'http://127.0.0.1:9/viewed' }).click();
  await hydrated(viewer);
  await expect(viewer.getByRole('heading', { name: 'Verify the signature' })).toBeVisible();
  for (const name of ['Send test event', 'Replay failed since…', 'Change']) {
    await expect(viewer.getByRole('button', { name, exact: true })).toHaveCount(0);
  }

  // The settings: read, with no button.
  await viewer.goto(`/p/${p.id}/settings`);
  await hydrated(viewer);
  await expect(viewer.getByLabel('Project name')).toHaveValue('Access: read only');
  for (const name of ['Save name', 'Regenerate secret', 'Save portal look']) {
    await expect(viewer.getByRole('button', { name })).toHaveCount(0);
  }
  await viewer.context().close();
});
