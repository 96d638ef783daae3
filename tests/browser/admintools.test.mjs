// The admin's tools in a real browser: add an admin, mark a visit paid,
// filter the audit log to find it, and remove the demo clinic from the
// dashboard (as that new, real admin), after which the demo logins are gone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServerAndBrowser, newPage, nav, login, logout, checkA11y, assertNoProblems, DEMO } from './helpers.mjs';

const env = useServerAndBrowser();

/** No sideways scrolling on a phone (375 px) or at 200% zoom (640 px). */
async function fits(page, label) {
  for (const width of [640, 375]) {
    await page.setViewportSize({ width, height: 800 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 1, `${label} scrolls sideways by ${overflow}px at ${width}px`);
  }
  await page.setViewportSize({ width: 1280, height: 900 });
}

test('an admin marks a payment, finds it in the audit log and removes the demo clinic', async () => {
  const { url } = env.server;
  const admin = await newPage(env.chromium.browser, { timezoneId: 'Europe/Berlin' });
  await login(admin, url, DEMO.admin.login, DEMO.admin.password);

  // A real admin, added on the Admins page (a short password first).
  await nav(admin, 'Admins');
  await checkA11y(admin, 'admins');
  await fits(admin, 'admins');
  assert.ok(await admin.getByRole('row', { name: /admin@medimeet\.test \(you\) demo/ }).isVisible());
  await admin.getByLabel('Email (their login)').fill('chief@clinic.test');
  await admin.getByLabel('First password').fill('short');
  await admin.getByRole('button', { name: 'Add admin' }).click();
  await admin.locator('#e-password').waitFor();
  await checkA11y(admin, 'admins with an error');
  await admin.getByLabel('First password').fill('the chief admin secret');
  await admin.getByRole('button', { name: 'Add admin' }).click();
  await admin.getByText('The admin is added and can log in now.').waitFor();
  assert.ok(await admin.getByRole('button', { name: 'Deactivate chief@clinic.test' }).isVisible());

  // A completed visit of the demo's history: unpaid, then marked paid.
  await admin.goto(`${url}/admin/appointments?status=completed`);
  await admin.locator('table.data tbody tr th a').first().click();
  await admin.waitForURL(/\/appointments\/\d+$/);
  const visitId = new URL(admin.url()).pathname.split('/').pop();
  assert.equal(await admin.locator('#payment-status').textContent(), 'Unpaid');
  await checkA11y(admin, 'visit with payment buttons');
  await admin.getByRole('button', { name: 'Mark paid' }).click();
  await admin.getByText('The payment is recorded.').waitFor();
  assert.equal(await admin.locator('#payment-status').textContent(), 'Paid');
  assert.equal(await admin.getByRole('button', { name: 'Mark paid' }).count(), 0);
  assert.ok(await admin.getByRole('button', { name: 'Mark refunded' }).isVisible());

  // The audit log, filtered to payments: exactly that one, with its export.
  await nav(admin, 'Audit log');
  await checkA11y(admin, 'audit log');
  await fits(admin, 'audit log');
  await admin.getByLabel('Action').selectOption('payment');
  await admin.getByRole('button', { name: 'Filter' }).click();
  await admin.waitForURL(/action=payment/);
  const rows = admin.locator('#audit-table tbody tr');
  assert.equal(await rows.count(), 1);
  assert.match(await rows.first().textContent(), new RegExp(`appointment ${visitId}[\\s\\S]*unpaid -> paid`));
  assert.equal(await admin.locator('#audit-export').getAttribute('href'), '/admin/audit.csv?action=payment');
  const csv = await admin.evaluate(async (href) => (await fetch(href)).text(), '/admin/audit.csv?action=payment');
  assert.match(csv, /^id,at,actor_account_id,action,entity,entity_id,detail\n/);
  assert.equal(csv.trim().split('\n').length, 2, csv);
  // A date the browser's date field would not send, typed into the address.
  await admin.goto(`${url}/admin/audit?from=someday`);
  await admin.locator('#e-from').waitFor();
  await checkA11y(admin, 'audit log with an error');
  assertNoProblems(admin, 'demo admin');
  await logout(admin);

  // The real admin removes the demo clinic from the dashboard.
  await login(admin, url, 'chief@clinic.test', 'the chief admin secret');
  assert.equal(new URL(admin.url()).pathname, '/admin');
  assert.ok(await admin.getByRole('heading', { name: /Payments per doctor/ }).isVisible());
  const remove = admin.getByRole('button', { name: 'Remove the demo clinic' });
  assert.ok(await remove.isVisible());
  await checkA11y(admin, 'dashboard with the demo');
  await fits(admin, 'dashboard');
  await admin.getByLabel(/I understand this removes every demo account/).check();
  await remove.click();
  await admin.getByText('The demo clinic is removed').waitFor();
  assert.equal(await admin.getByRole('button', { name: 'Remove the demo clinic' }).count(), 0);
  assert.ok(await admin.getByText('No payments and nothing outstanding yet.').isVisible());
  await nav(admin, 'Admins');
  assert.equal(await admin.getByText('admin@medimeet.test').count(), 0);
  assertNoProblems(admin, 'real admin');

  // Visitors no longer get the demo logins, and they no longer work.
  const visitor = await newPage(env.chromium.browser);
  await visitor.goto(url);
  assert.equal(await visitor.getByRole('button', { name: /Continue as demo/ }).count(), 0);
  await visitor.goto(`${url}/login`);
  await visitor.getByLabel('Phone number or email').fill(DEMO.patient.login);
  await visitor.getByLabel('Password').fill(DEMO.patient.password);
  await visitor.getByRole('button', { name: 'Log in' }).click();
  await visitor.locator('.error-summary').waitFor();
  assert.equal(new URL(visitor.url()).pathname, '/login');
});
