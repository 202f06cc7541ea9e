import { expect, test, type Browser, type Page } from '@playwright/test';
import { ADMIN, hydrated, signIn } from './helpers';

const PASSWORD = 'a teammate password';

/** A fresh browser (its own cookies), as a second person or computer would have. */
async function freshPage(browser: Browser): Promise<Page> {
  const context = await browser.newContext();
  return context.newPage();
}

/** Opens a one-time link, chooses the password and lands signed in. */
async function join(page: Page, link: string, email: string, password = PASSWORD) {
  await page.goto(link);
  await expect(page.getByRole('heading', { name: 'Welcome to Signpost' })).toBeVisible();
  await expect(page.getByText(email)).toBeVisible();
  await hydrated(page);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByLabel('Password, again').fill(password);
  await page.getByRole('button', { name: 'Set password and sign in' }).click();
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByRole('heading', { name: 'Projects' })).toBeVisible();
  await expect(page.getByRole('link', { name: email })).toBeVisible();
}

/** Adds a teammate through the Team page; returns the one-time link, read from the clipboard. */
async function addTeammate(page: Page, email: string) {
  await page.goto('/');
  await hydrated(page);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Team' }).click();
  await expect(page).toHaveURL(/\/team$/);
  await page.getByRole('button', { name: 'Add teammate' }).click();
  const dialog = page.getByRole('dialog', { name: 'Add teammate' });
  await dialog.getByLabel('Email').fill(email);
  await dialog.getByLabel('Role').selectOption('member');
  await dialog.getByRole('button', { name: 'Add teammate' }).click();

  const shown = page.getByRole('dialog', { name: 'One-time sign-in link' });
  await expect(shown).toBeVisible();
  await expect(shown.getByText(email)).toBeVisible();
  await shown.getByRole('button', { name: 'Copy' }).click();
  await expect(shown.getByRole('button', { name: 'Copied' })).toBeVisible();
  const link = await page.evaluate(() => navigator.clipboard.readText());
  expect(link).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/join\/[0-9a-f]{64}$/);
  expect(await shown.getByLabel('Sign-in link').inputValue()).toBe(link);
  await shown.getByRole('button', { name: 'Done' }).click();
  await expect(shown).toHaveCount(0);
  return link;
}

test('an admin adds a teammate, who joins with the link; the admin changes the role and removes them', async ({
  page,
  browser,
}) => {
  const email = `mate-${Date.now()}@example.com`;
  await signIn(page);
  const link = await addTeammate(page, email);
  const row = page.locator('tbody tr', { hasText: email });
  await expect(row.getByText('Invited')).toBeVisible();
  await expect(row.locator('td.role')).toHaveText('Member');

  // The teammate, in a browser of their own.
  const mate = await freshPage(browser);
  await join(mate, link, email);
  // Members read the team, without a single button that only admins can use:
  // opened from the menu (client-side) and loaded directly.
  await hydrated(mate);
  for (const open of [
    () => mate.getByRole('link', { name: 'Team' }).click(),
    () => mate.goto('/team'),
  ]) {
    await open();
    await expect(mate).toHaveURL(/\/team$/);
    await hydrated(mate);
    await expect(mate.getByRole('note')).toContainText('Only admins add, change or remove teammates');
    const mine = mate.locator('tbody tr', { hasText: email });
    await expect(mine.locator('td.role')).toHaveText('Member');
    await expect(mate.locator('tbody tr', { hasText: ADMIN.email }).locator('td.role')).toHaveText('Admin');
    await expect(mate.locator('main').getByRole('button')).toHaveCount(0);
    await expect(mate.getByRole('heading', { name: 'Recent changes' })).toHaveCount(0);
    await expect(mate.getByRole('alert')).toHaveCount(0);
  }

  // The link worked once: opened again it says so.
  const stranger = await freshPage(browser);
  await stranger.goto(link);
  await expect(stranger.getByRole('heading', { name: 'This link cannot be used' })).toBeVisible();
  await expect(stranger.getByRole('alert')).toContainText('has been used already');

  // The admin sees them joined, and makes them admin, then member again.
  await page.reload();
  await hydrated(page);
  await expect(row.getByText('Invited')).toHaveCount(0);
  await row.getByRole('button', { name: 'Make admin' }).click();
  await expect(row.locator('td.role')).toHaveText('Admin');
  await row.getByRole('button', { name: 'Make member' }).click();
  await expect(row.locator('td.role')).toHaveText('Member');
  await expect(page.locator('.activity')).toContainText(`${ADMIN.email} changed the role of ${email} (admin → member)`);

  // The teammate has the projects page open when they are removed.
  await mate.goto('/');
  await hydrated(mate);

  // Removed: after confirming, the row is gone...
  await row.getByRole('button', { name: 'Remove' }).click();
  const confirm = page.getByRole('dialog', { name: 'Remove teammate?' });
  await expect(confirm).toContainText(email);
  await confirm.getByRole('button', { name: 'Remove teammate' }).click();
  await expect(confirm).toHaveCount(0);
  await expect(row).toHaveCount(0);
  await expect(page.locator('.activity')).toContainText(`${ADMIN.email} removed ${email}`);

  // ...and the teammate's open page goes to sign-in on its next action,
  // where their password no longer works.
  await mate.getByLabel('Name', { exact: true }).fill('After removal');
  await mate.getByRole('button', { name: 'Create project' }).click();
  await expect(mate).toHaveURL(/\/login\?next=\/$/);
  await hydrated(mate);
  await mate.getByLabel('Email').fill(email);
  await mate.getByLabel('Password').fill(PASSWORD);
  await mate.getByRole('button', { name: 'Sign in' }).click();
  await expect(mate.getByRole('alert')).toHaveText('Invalid email or password');
});

test('the last admin cannot step down', async ({ page }) => {
  await signIn(page);
  await page.goto('/team');
  await hydrated(page);
  const mine = page.locator('tbody tr', { hasText: ADMIN.email });
  await expect(mine.getByText('You')).toBeVisible();
  await expect(mine.getByRole('button', { name: 'Remove' })).toHaveCount(0);
  await mine.getByRole('button', { name: 'Make member' }).click();
  await expect(page.getByRole('alert')).toHaveText(
    'Signpost needs an admin who can sign in: make someone else an admin first',
  );
  await expect(mine.locator('td.role')).toHaveText('Admin');
});

test('a teammate changes their password, which signs out their other sessions, and signs out everywhere else', async ({
  page,
  browser,
}) => {
  const email = `pw-${Date.now()}@example.com`;
  await signIn(page);
  const link = await addTeammate(page, email);

  const laptop = await freshPage(browser);
  await join(laptop, link, email);
  const phone = await freshPage(browser);
  await signIn(phone, email, PASSWORD);

  // The Account page is behind the user's email in the top bar.
  await hydrated(laptop);
  await laptop.getByRole('link', { name: email }).click();
  await expect(laptop).toHaveURL(/\/account$/);
  await expect(laptop.getByRole('heading', { name: 'Account' })).toBeVisible();
  const newPassword = 'a newer teammate password';
  await laptop.getByLabel('Current password').fill('not my password');
  await laptop.getByLabel('New password', { exact: true }).fill(newPassword);
  await laptop.getByLabel('New password, again').fill(newPassword);
  await laptop.getByRole('button', { name: 'Change password' }).click();
  await expect(laptop.getByRole('alert')).toHaveText('The current password is not right');

  await laptop.getByLabel('Current password').fill(PASSWORD);
  await laptop.getByRole('button', { name: 'Change password' }).click();
  await expect(laptop.getByRole('status')).toHaveText(
    'Password changed. Every other session of yours has been signed out.',
  );
  await expect(laptop.getByLabel('Current password')).toHaveValue('');

  // The phone was signed out; it signs in again with the new password.
  await phone.reload();
  await expect(phone).toHaveURL(/\/login\?next=\/$/);
  await signIn(phone, email, newPassword);

  // "Sign out everywhere else" from the phone ends the laptop's session.
  await phone.goto('/account');
  await hydrated(phone);
  await phone.getByRole('button', { name: 'Sign out everywhere else' }).click();
  await expect(phone.getByRole('status')).toHaveText('Every other session of yours has been signed out.');
  await laptop.reload();
  await expect(laptop).toHaveURL(/\/login\?next=\/account$/);
  // The phone stays signed in.
  await phone.reload();
  await expect(phone.getByRole('heading', { name: 'Account' })).toBeVisible();
});
