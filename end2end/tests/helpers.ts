import { expect, type APIRequestContext, type Locator, type Page } from '@playwright/test';
import type { Server } from 'node:http';

export const ADMIN = { email: 'admin@example.com', password: 'correct horse battery' };

/** The one-time setup token the test server runs with (see playwright.config.ts). */
export const SETUP_TOKEN = 'e2e-setup-token';

/** Waits until the page has come alive: the islands are hydrated and the
 *  page's behaviour (dialogs, menus, live parts) is wired up. */
export async function hydrated(page: Page) {
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
}

/** Signs in through the form and waits for the signed-in shell. */
export async function signIn(page: Page, email = ADMIN.email, password = ADMIN.password) {
  await page.goto('/login');
  await hydrated(page);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  // In the top bar, which on a phone is folded behind "Menu".
  await expect(page.locator('.topbar').getByText(email)).toBeAttached();
}

/** Creates a project through the projects page; its credentials are in the open dialog. */
export async function createProject(page: Page, name: string) {
  await page.goto('/');
  await hydrated(page);
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByRole('button', { name: 'Create project' }).click();
  const dialog = page.getByRole('dialog', { name: 'Project created' });
  await expect(dialog).toBeVisible();
  const id = await dialog.getByLabel('Project ID').inputValue();
  const secret = await dialog.getByLabel('Project secret').inputValue();
  return { id, secret, dialog };
}

/** HTTP Basic credentials of a project, for the API. */
export function basic(id: string, secret: string) {
  return { Authorization: 'Basic ' + Buffer.from(`${id}:${secret}`).toString('base64') };
}

/**
 * Stops a receiver started by a test. `close()` alone resolves only once every
 * connection has ended, and Signpost's HTTP client may still hold one open;
 * in CI that kept an afterAll waiting past its 30 s. The test is over, so
 * its sockets are closed too.
 */
export async function closeServer(server: Server) {
  const closed = new Promise((resolve) => server.close(resolve));
  server.closeAllConnections();
  await closed;
}

/** Picks one of a webhook row's other actions from its "More" menu (opened
 *  first if it is closed). */
export async function rowAction(row: Locator, name: string) {
  const menu = row.locator('details.menu');
  const item = menu.getByRole('button', { name, exact: true });
  if (await item.isHidden()) await menu.locator('summary').click();
  await expect(item).toBeVisible();
  await item.click();
}

export type Project = { id: string; secret: string };

/** A fresh project, its dialog closed. */
export async function project(page: Page, name: string): Promise<Project> {
  await signIn(page);
  const p = await createProject(page, name);
  await p.dialog.getByRole('button', { name: 'I have saved it' }).click();
  return { id: p.id, secret: p.secret };
}

export async function register(request: APIRequestContext, p: Project, url: string, extra: object = {}) {
  const res = await request.post(`/projects/${p.id}/webhooks`, {
    headers: basic(p.id, p.secret),
    data: { webhookUrl: url, ...extra },
  });
  expect(res.status()).toBe(200);
  const data = (await res.json()).data;
  return { id: data.id as string, secret: data.signingSecret as string };
}
