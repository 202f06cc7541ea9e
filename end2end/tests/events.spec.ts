import { expect, test, type APIRequestContext, type Page } from '@playwright/test';
import { basic, hydrated, project, register, type Project } from './helpers';

// The Events tab: every event the platform published, newest first, with
// where it went. An event's page shows its payload, its deliveries, and each
// webhook it was not sent to, with the reason.

// Nothing listens on port 9: deliveries to these webhooks fail and retry,
// which is all these tests need of them.
const HOOK = 'http://127.0.0.1:9/events';

async function publish(request: APIRequestContext, p: Project, event: object) {
  const res = await request.post(`/projects/${p.id}/events`, { headers: basic(p.id, p.secret), data: event });
  expect(res.status()).toBe(202);
  return (await res.json()).data.id as string;
}

/** A project with three webhooks: A takes order.created, B takes order.paid,
 *  C takes everything but is disabled. Then four events, the one looked for
 *  among others; `user.signed_up` reaches no webhook. */
async function setUp(page: Page, request: APIRequestContext, name: string) {
  const p = await project(page, name);
  const a = await register(request, p, `${HOOK}/a`, { events: ['order.created'] });
  const b = await register(request, p, `${HOOK}/b`, { events: ['order.paid'] });
  const c = await register(request, p, `${HOOK}/c`);
  const disabled = await request.patch(`/projects/${p.id}/webhooks/${c.id}`, {
    headers: basic(p.id, p.secret),
    data: { enabled: false },
  });
  expect(disabled.status()).toBe(200);

  const paid = await publish(request, p, { event: 'order.paid', order: { id: 'order_7' } });
  const created = await publish(request, p, { event: 'order.created', order: { id: 'order_42' } });
  const signedUp = await publish(request, p, { event: 'user.signed_up', user: { id: 'user_1' } });
  const invoice = await publish(request, p, { event: 'invoice.sent', invoice: { id: 'inv_3' } });
  return { p, a, b, c, events: { paid, created, signedUp, invoice } };
}

/** Opens the project's Events tab from its Webhooks page. */
async function openEvents(page: Page, p: Project) {
  await page.goto(`/p/${p.id}/webhooks`);
  await hydrated(page);
  await page.getByRole('navigation', { name: 'Project' }).getByRole('link', { name: 'Events', exact: true }).click();
  await expect(page).toHaveURL(new RegExp(`/p/${p.id}/events$`));
  await hydrated(page);
}

test('find an event by name on the Events page, open it, and see the webhooks it skipped and why', async ({
  page,
  request,
}) => {
  const { p, a, b, c, events } = await setUp(page, request, 'Events: find one');
  await openEvents(page, p);

  // All four, newest first.
  const rows = page.locator('table.events tbody tr');
  await expect(rows).toHaveCount(4);
  await expect(rows.first()).toHaveAttribute('data-event', events.invoice);
  await expect(rows.last()).toHaveAttribute('data-event', events.paid);

  // Filtered by name: the one event.
  const filters = page.getByRole('form', { name: 'Filters' });
  await filters.getByLabel('Event', { exact: true }).fill('order.created');
  await filters.getByRole('button', { name: 'Apply' }).click();
  await expect(page).toHaveURL(/event=order\.created/);
  await hydrated(page);
  await expect(rows).toHaveCount(1);
  const row = rows.first();
  await expect(row).toHaveAttribute('data-event', events.created);
  await expect(row).toContainText(events.created);
  await expect(filters.getByLabel('Event', { exact: true })).toHaveValue('order.created');

  // Its page.
  await row.getByRole('link', { name: 'order.created', exact: true }).click();
  await expect(page).toHaveURL(new RegExp(`/p/${p.id}/events/${events.created}$`));
  await expect(page.getByRole('heading', { name: 'Event order.created' })).toBeVisible();
  const facts = page.locator('.facts');
  await expect(facts).toContainText(events.created);
  await expect(facts).toContainText('Published through the API (POST /events)');

  // It went to A…
  await expect(page.getByRole('heading', { name: 'Deliveries (1)' })).toBeVisible();

  // …and not to B (its filter takes another event) nor C (disabled).
  await expect(page.getByRole('heading', { name: 'Not sent to (2)' })).toBeVisible();
  const skipped = page.locator('table.skipped tbody tr');
  await expect(skipped).toHaveCount(2);
  const filtered = page.locator(`table.skipped tr[data-webhook="${b.id}"]`);
  await expect(filtered).toHaveAttribute('data-reason', 'filtered');
  await expect(filtered).toContainText(`${HOOK}/b`);
  await expect(filtered).toContainText('Filtered out');
  await expect(filtered).toContainText('Its filter takes order.paid');
  const off = page.locator(`table.skipped tr[data-webhook="${c.id}"]`);
  await expect(off).toHaveAttribute('data-reason', 'disabled');
  await expect(off).toContainText(`${HOOK}/c`);
  await expect(off).toContainText('Disabled');
  await expect(page.locator(`table.skipped tr[data-webhook="${a.id}"]`)).toHaveCount(0);

  // The payload as it was published.
  await expect(page.getByLabel('Payload', { exact: true })).toContainText('order_42');
});

test('the payload search finds an event, and an event that reached no webhook says so', async ({
  page,
  request,
}) => {
  const { p, events } = await setUp(page, request, 'Events: search');
  await openEvents(page, p);
  const rows = page.locator('table.events tbody tr');
  await expect(rows).toHaveCount(4);

  // The event no webhook took says so in the list; one that went somewhere does not.
  const nowhere = page.locator(`table.events tr[data-event="${events.signedUp}"]`);
  await expect(nowhere.locator('td[data-label="Deliveries"]')).toHaveText('Reached no webhook');
  const somewhere = page.locator(`table.events tr[data-event="${events.paid}"]`);
  await expect(somewhere.locator('td[data-label="Deliveries"]')).not.toContainText('Reached no webhook');
  await expect(somewhere.locator('td[data-label="Deliveries"]')).toContainText('of 1 delivered');

  // Text in the payload, within the last hour: the one event that holds it.
  const filters = page.getByRole('form', { name: 'Filters' });
  await filters.getByLabel('Payload contains').fill('order_42');
  await filters.getByLabel('Time').selectOption('1h');
  await filters.getByRole('button', { name: 'Apply' }).click();
  await expect(page).toHaveURL(/text=order_42/);
  await expect(page).toHaveURL(/range=1h/);
  await hydrated(page);
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toHaveAttribute('data-event', events.created);
  await expect(rows.first()).toContainText('order.created');
  await expect(filters.getByLabel('Payload contains')).toHaveValue('order_42');
  await expect(filters.getByLabel('Time')).toHaveValue('1h');

  // Text no payload holds: nothing, said so.
  await filters.getByLabel('Payload contains').fill('order_404');
  await filters.getByRole('button', { name: 'Apply' }).click();
  await expect(page).toHaveURL(/text=order_404/);
  await hydrated(page);
  await expect(page.getByText('No event matches these filters.')).toBeVisible();
  await expect(rows).toHaveCount(0);

  // Clear: all four again.
  await filters.getByRole('link', { name: 'Clear' }).click();
  await expect(page).toHaveURL(new RegExp(`/p/${p.id}/events$`));
  await expect(rows).toHaveCount(4);
});
