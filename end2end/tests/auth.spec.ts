import { expect, test } from '@playwright/test';
import { ADMIN, SETUP_TOKEN, hydrated, signIn } from './helpers';

// These tests share one fresh database: the first one sets Signpost up.
test.describe.configure({ mode: 'serial' });

test('first run: the operator opens the setup link from the log, creates the admin and is signed in', async ({
  page,
}) => {
  // The server runs with a setup token, as a network install does.
  await page.goto('/');
  await expect(page).toHaveURL(/\/setup$/);
  await expect(page.getByRole('heading', { name: 'Create the first admin' })).toBeVisible();
  await expect(page.getByRole('status')).toContainText('needs the one-time setup link that its log printed');
  await expect(page.getByLabel('Email')).toHaveCount(0);

  // A wrong token gets the form, and a refusal that says what is needed.
  await page.goto('/setup?token=not-the-token');
  await hydrated(page);
  await page.getByLabel('Email').fill(ADMIN.email);
  await page.getByLabel('Password', { exact: true }).fill(ADMIN.password);
  await page.getByLabel('Confirm password').fill(ADMIN.password);
  await page.getByRole('button', { name: 'Create admin account' }).click();
  await expect(page.getByRole('alert')).toContainText('needs its setup token');

  await page.goto(`/setup?token=${SETUP_TOKEN}`);
  await expect(page.getByRole('heading', { name: 'Create the first admin' })).toBeVisible();
  await hydrated(page);

  await page.getByLabel('Email').fill(ADMIN.email);
  await page.getByLabel('Password', { exact: true }).fill(ADMIN.password);
  await page.getByLabel('Confirm password').fill('something else entirely');
  await page.getByRole('button', { name: 'Create admin account' }).click();
  await expect(page.getByRole('alert')).toHaveText('The passwords do not match');

  await page.getByLabel('Confirm password').fill(ADMIN.password);
  await page.getByRole('button', { name: 'Create admin account' }).click();
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByRole('link', { name: 'Signpost' })).toBeVisible();
  await expect(page.getByText(ADMIN.email)).toBeVisible();
  await expect(page.getByRole('heading', { name: 'Projects' })).toBeVisible();

  // Setup is over: the page says so instead of offering the form again.
  await page.goto('/setup');
  await expect(page.getByText('Signpost is already set up.')).toBeVisible();
  await expect(page.getByRole('button', { name: 'Create admin account' })).toHaveCount(0);
});

test('anonymous visitors are sent to sign in, and come back after it', async ({ page }) => {
  await page.goto('/some/page?tab=log');
  await expect(page).toHaveURL(/\/login\?next=\/some\/page%3Ftab%3Dlog$/);
  await hydrated(page);
  await page.getByLabel('Email').fill(ADMIN.email);
  await page.getByLabel('Password').fill(ADMIN.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/some\/page\?tab=log$/);
  // An unknown page inside the dashboard is a clear "not found".
  await expect(page.getByRole('heading', { name: 'Page not found' })).toBeVisible();
});

test('a wrong password shows one message that does not say which part was wrong', async ({ page }) => {
  await page.goto('/login');
  await hydrated(page);
  await page.getByLabel('Email').fill(ADMIN.email);
  await page.getByLabel('Password').fill('not the password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert')).toHaveText('Invalid email or password');
  await expect(page).toHaveURL(/\/login/);

  await page.getByLabel('Email').fill('nobody@example.com');
  await page.getByLabel('Password').fill(ADMIN.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert')).toHaveText('Invalid email or password');
});

test('sign in, then sign out ends the session', async ({ page }) => {
  await signIn(page);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/login$/);
  await expect(page.getByRole('button', { name: 'Sign in' })).toBeVisible();
  // The old session is gone on the server: the dashboard asks to sign in again.
  await page.goto('/');
  await expect(page).toHaveURL(/\/login\?next=/);
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('the sign-in form still works as a plain form', async ({ page }) => {
    await page.goto('/login?next=/');
    await page.getByLabel('Email').fill(ADMIN.email);
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('alert')).toHaveText('Invalid email or password');

    await page.getByLabel('Email').fill(ADMIN.email);
    await page.getByLabel('Password').fill(ADMIN.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page).toHaveURL(/\/$/);
    await expect(page.getByText(ADMIN.email)).toBeVisible();
  });
});
