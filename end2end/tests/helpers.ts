import { expect, type APIRequestContext, type Locator, type Page } from '@playwright/test';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

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

/** One request that came to a `receiver`. */
export type Received = {
  method: string;
  /** The request target as sent: the path, with any query. */
  path: string;
  headers: IncomingHttpHeaders;
  /** The raw body, byte for byte (signatures are checked over it). */
  body: Buffer;
};

/** The status a `receiver` answers with, or how it picks one per request
 *  (a promise holds the answer back until it settles). */
export type Answer = number | ((req: Received) => number | Promise<number>);

export type Receiver = {
  /** `http://127.0.0.1:{port}`, with no trailing slash. */
  url: string;
  port: number;
  /** Every request so far, in the order they ended. */
  requests: Received[];
  /** The requests that came to `path`. */
  at(path: string): Received[];
  /** Waits until exactly `n` requests have come (to `path`, if given). */
  waitFor(n: number, path?: string, options?: { timeout?: number }): Promise<void>;
  /** Stops it (see `closeServer`). */
  close(): Promise<void>;
};

/**
 * A webhook receiver on 127.0.0.1 (allow-listed by the test server's config),
 * on a port of its own: it records each request (method, path, headers, body)
 * once its body is in, then answers with `answer` (200 unless told).
 */
export async function receiver({ answer = 200 }: { answer?: Answer } = {}): Promise<Receiver> {
  const requests: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const got: Received = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks),
      };
      requests.push(got);
      new Promise<number>((resolve) => resolve(typeof answer === 'number' ? answer : answer(got))).then(
        (status) => res.writeHead(status).end(),
        (error) => {
          console.error('receiver: the answer failed', error);
          res.writeHead(500).end();
        },
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const at = (path: string) => requests.filter((r) => r.path === path);
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    at,
    async waitFor(n, path, options = {}) {
      await expect
        .poll(() => (path === undefined ? requests : at(path)).length, {
          message: `requests to the receiver${path === undefined ? '' : ` at ${path}`}`,
          ...options,
        })
        .toBe(n);
    },
    close: () => closeServer(server),
  };
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

/** Closes a shown-once dialog (a new secret, new credentials) with
 *  "I have saved it", and waits until it is gone. */
export async function saved(dialog: Locator) {
  await dialog.getByRole('button', { name: 'I have saved it' }).click();
  await expect(dialog).toBeHidden();
}

/** A fresh project, its dialog closed. */
export async function project(page: Page, name: string): Promise<Project> {
  await signIn(page);
  const p = await createProject(page, name);
  await saved(p.dialog);
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

/** Checks a spectrum-v0 signature as a receiver would. */
export function validSignature(d: Received, secret: string) {
  const ts = String(d.headers['x-spectrum-timestamp']);
  const expected = 'v0=' + createHmac('sha256', secret).update(`v0:${ts}:`).update(d.body).digest('hex');
  const got = Buffer.from(String(d.headers['x-spectrum-signature']));
  return got.length === expected.length && timingSafeEqual(got, Buffer.from(expected));
}
