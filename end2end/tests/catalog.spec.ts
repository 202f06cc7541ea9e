import { expect, test } from '@playwright/test';
import { basic, hydrated, project } from './helpers';

// The event catalog: a person adds an event type with a schema, edits it,
// and publishing then checks events against it.

test('add an event type with a schema, edit it, and publishing follows it', async ({ page, request }) => {
  const p = await project(page, 'Catalog Keepers');
  await page.goto(`/p/${p.id}/catalog`);
  await hydrated(page);
  await expect(page.getByText('No event types yet.')).toBeVisible();

  // Added, with a schema that is not JSON first: refused, and what was typed stays.
  const form = page.locator('#new-type');
  await form.getByLabel('Name').fill('order.created');
  await form.getByLabel('Description').fill('A customer placed an order');
  await form.getByLabel('JSON Schema (optional)').fill('{"required": ["orderId"');
  await form.getByRole('button', { name: 'Add event type' }).click();
  await expect(form.getByRole('alert')).toContainText('The schema is not JSON');
  await expect(form.getByLabel('Name')).toHaveValue('order.created');
  await form.getByLabel('JSON Schema (optional)').fill('{"required": ["orderId"], "properties": {"orderId": {"type": "string"}}}');
  await form.getByRole('button', { name: 'Add event type' }).click();
  const card = page.locator('.event-type[data-type="order.created"]');
  await expect(card).toBeVisible();
  await expect(card).toContainText('A customer placed an order');

  const publish = (event: object) =>
    request.post(`/projects/${p.id}/events`, { headers: basic(p.id, p.secret), data: event });
  const refused = await publish({ event: 'order.created', orderId: 42 });
  expect(refused.status()).toBe(422);
  expect((await refused.json()).message).toContain('/orderId');

  // Edited: the schema goes, and the same event is taken.
  await hydrated(page);
  await card.getByRole('button', { name: 'Edit' }).click();
  const dialog = page.getByRole('dialog', { name: 'Edit order.created' });
  await expect(dialog).toBeVisible();
  await expect(dialog.getByLabel('Name')).toHaveValue('order.created');
  await dialog.getByLabel('Description').fill('Placed, and not yet paid');
  await dialog.getByLabel('JSON Schema (optional)').fill('');
  await dialog.getByRole('button', { name: 'Save' }).click();
  await expect(card).toContainText('Placed, and not yet paid');
  await expect(card).toContainText('No schema');
  expect((await publish({ event: 'order.created', orderId: 42 })).status()).toBe(202);

  // The webhook form offers the catalog's names.
  await page.goto(`/p/${p.id}/webhooks`);
  await hydrated(page);
  await page.getByRole('button', { name: 'Add webhook' }).first().click();
  await expect(page.getByRole('dialog', { name: 'Add webhook' }).locator('.catalog-names')).toContainText('order.created');
});
