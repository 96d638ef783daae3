// Notifications' pages (issue 10): a patient chooses how the clinic reaches
// them on their profile; an admin adds, tests, rotates and deletes a webhook
// endpoint and reads the queue. The real binary, in a real browser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServerAndBrowser, newPage, nav, login, checkA11y, assertNoProblems, newPhone, DEMO } from './helpers.mjs';

const env = useServerAndBrowser();

/** The signed-in patient's profile as the API reads it (the browser's cookie). */
async function apiProfile(page, url) {
  const me = await page.request.get(`${url}/api/v1/me`);
  assert.equal(me.status(), 200);
  const id = (await me.json()).patient.id;
  const r = await page.request.get(`${url}/api/v1/patients/${id}`);
  assert.equal(r.status(), 200);
  return r.json();
}

test('a patient turns text messages off on their profile, and it stays off', async () => {
  const { url } = env.server;
  const page = await newPage(env.chromium.browser, { timezoneId: 'Europe/Paris' });
  await login(page, url, DEMO.patient.login, DEMO.patient.password);
  await nav(page, 'Profile');
  assert.equal(new URL(page.url()).pathname, '/profile');
  assert.ok(await page.getByRole('heading', { name: 'Your profile' }).isVisible());
  assert.ok(await page.getByText('pat.demo@example.org').isVisible(), 'the email on file');
  assert.ok(await page.locator('dd', { hasText: DEMO.patient.login }).isVisible(), 'the phone on file');
  assert.ok(await page.getByText(/one-click unsubscribe link/).isVisible());

  const group = page.getByRole('group', { name: 'How should we reach you?' });
  const email = group.getByRole('checkbox', { name: 'Email' });
  const sms = group.getByRole('checkbox', { name: 'Text message (SMS)' });
  assert.ok(await email.isChecked() && await email.isEnabled(), 'email on, and changeable');
  assert.ok(await sms.isChecked(), 'text messages start on');
  await checkA11y(page, 'profile');

  await sms.uncheck();
  await page.getByRole('button', { name: 'Save choices' }).click();
  await page.getByText('Your notification choices are saved.').waitFor();
  assert.equal(new URL(page.url()).pathname, '/profile');
  assert.equal(await sms.isChecked(), false);
  assert.equal(await email.isChecked(), true, 'the other choice is untouched');

  // A reload reads it back from the server (and the flash is gone).
  await page.reload();
  assert.equal(await sms.isChecked(), false, 'still off after a reload');
  assert.equal(await email.isChecked(), true);
  assert.equal(await page.getByText('Your notification choices are saved.').count(), 0);
  const saved = await apiProfile(page, url);
  assert.equal(saved.notify_sms, false);
  assert.equal(saved.notify_email, true);

  // And back on.
  await sms.check();
  await page.getByRole('button', { name: 'Save choices' }).click();
  await page.getByText('Your notification choices are saved.').waitFor();
  assert.equal((await apiProfile(page, url)).notify_sms, true);
  assertNoProblems(page, 'profile');
});

test('a patient without an email address cannot choose email, and is told why', async () => {
  const { url } = env.server;
  const phone = newPhone();
  const r = await fetch(`${url}/api/v1/patients`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ first_name: 'Ines', last_name: 'Mora', phone,
      password: 'a long enough password', date_of_birth: '1988-08-08' }),
  });
  assert.equal(r.status, 201);
  const page = await newPage(env.chromium.browser);
  await login(page, url, phone, 'a long enough password');
  await nav(page, 'Profile');
  assert.ok(await page.getByText('None on file').isVisible());
  const email = page.getByRole('checkbox', { name: 'Email' });
  assert.equal(await email.isDisabled(), true);
  assert.equal(await email.isChecked(), false);
  assert.match(await email.getAttribute('aria-describedby'), /h-notify_email/);
  assert.ok(await page.getByText('We have no email address for you').isVisible());
  await checkA11y(page, 'profile without email');
  // Saving text messages still works, and leaves the email choice alone.
  await page.getByRole('checkbox', { name: 'Text message (SMS)' }).uncheck();
  await page.getByRole('button', { name: 'Save choices' }).click();
  await page.getByText('Your notification choices are saved.').waitFor();
  const saved = await apiProfile(page, url);
  assert.equal(saved.notify_sms, false);
  assert.equal(saved.notify_email, true, 'the disabled box did not switch email off');
  assertNoProblems(page, 'profile without email');
});

test('an admin adds a webhook endpoint, sees its secret once, tests, rotates and deletes it', async () => {
  const { url } = env.server;
  const admin = await newPage(env.chromium.browser, { timezoneId: 'America/Chicago' });
  await login(admin, url, DEMO.admin.login, DEMO.admin.password);
  await nav(admin, 'Webhooks');
  assert.equal(new URL(admin.url()).pathname, '/admin/webhooks');
  assert.ok(await admin.getByRole('heading', { name: 'Notification queue' }).isVisible());
  assert.ok(await admin.getByText('No endpoints yet.').isVisible());
  await checkA11y(admin, 'webhooks page');

  // A bad URL and no event: each said at its field, nothing added.
  const addForm = admin.locator('form[action="/admin/webhooks"]');
  await admin.getByLabel('Endpoint URL').fill('ftp://ehr.example/hook');
  for (const cb of await addForm.getByRole('checkbox').all()) await cb.uncheck();
  await admin.getByRole('button', { name: 'Add endpoint' }).click();
  await admin.locator('.error-summary').waitFor();
  assert.match(await admin.locator('#e-url').textContent(), /The URL must start with http:\/\/ or https:\/\//);
  assert.match(await admin.locator('#e-events').textContent(), /Choose at least one of the events/);
  assert.equal(await admin.getByLabel('Endpoint URL').getAttribute('aria-invalid'), 'true');
  assert.equal(await admin.getByLabel('Endpoint URL').inputValue(), 'ftp://ehr.example/hook', 'what was typed stays');
  assert.ok(await admin.getByText('No endpoints yet.').isVisible(), 'nothing was added');
  await checkA11y(admin, 'add endpoint with errors');

  // A bad URL alone (events ticked): the URL's error only.
  await admin.getByLabel('Endpoint URL').fill('http://');
  await admin.getByRole('checkbox', { name: 'appointment.booked' }).check();
  await admin.getByRole('button', { name: 'Add endpoint' }).click();
  await admin.locator('#e-url').waitFor();
  assert.match(await admin.locator('#e-url').textContent(), /must name a host/);
  assert.equal(await admin.locator('#e-events').count(), 0);
  assert.ok(await admin.getByText('No endpoints yet.').isVisible(), 'still nothing added');

  // A good one (nothing listens there: its deliveries fail and are retried),
  // once the demo's own backlog of notices is out of the way.
  await queueSettled(admin, url);
  const hook = 'http://127.0.0.1:9/hook';
  await admin.getByLabel('Endpoint URL').fill(hook);
  await admin.getByRole('checkbox', { name: 'appointment.cancelled' }).check();
  await admin.getByRole('button', { name: 'Add endpoint' }).click();
  await admin.getByRole('heading', { name: 'Endpoint added: its signing secret' }).waitFor();
  const secret = (await admin.locator('#secret-value').textContent()).trim();
  assert.match(secret, /^whsec_[A-Za-z0-9+/=]{20,}$/);
  assert.equal(countOf(await admin.content(), 'whsec_'), 1, 'the secret is on the page once');
  const endpoint = admin.getByRole('region', { name: hook });
  assert.ok(await endpoint.isVisible());
  assert.ok(await endpoint.getByText('appointment.booked').isVisible());
  assert.ok(await endpoint.getByText('appointment.cancelled').isVisible());
  assert.equal(await endpoint.getByText('appointment.rescheduled').count(), 0, 'only the events chosen');
  assert.equal(await endpoint.locator('.endpoint-head .badge').textContent(), 'Active');
  await checkA11y(admin, 'endpoint added, secret shown');

  // Visiting the page again: the secret is gone for good.
  await admin.goto(`${url}/admin/webhooks`);
  assert.equal(countOf(await admin.content(), 'whsec_'), 0, 'the secret is not shown again');
  assert.equal(countOf(await admin.content(), secret), 0);
  const cookies = await admin.context().cookies();
  assert.ok(cookies.every((c) => !c.value.includes('whsec_') && !c.value.includes(secret.slice(6))),
    'no cookie carries the secret');

  // A test event: a delivery row appears under the endpoint (the worker
  // then tries it; nothing listens, so it gets an error and is retried).
  await endpoint.getByRole('button', { name: 'Send test event' }).click();
  await admin.getByText('A test event is queued.').waitFor();
  const rows = () => admin.getByRole('region', { name: hook }).getByRole('table').locator('tbody tr');
  assert.equal(await rows().count(), 1);
  assert.match(await rows().first().textContent(), /Test event/);
  let tried = false;
  for (let i = 0; i < 30 && !tried; i += 1) {
    const error = (await rows().first().locator('td.error-cell').textContent()).trim();
    tried = error !== '–' && error !== '';
    if (!tried) { await admin.waitForTimeout(500); await admin.reload(); }
  }
  assert.ok(tried, `the worker tried and recorded its error: ${await rows().first().textContent()}`);
  assert.equal(await rows().first().locator('.badge').textContent(), 'Pending', 'kept for a retry');
  assert.equal(await rows().first().getByRole('cell').nth(2).textContent(), '1', 'one try so far');
  assert.ok(await admin.getByRole('region', { name: hook }).getByText('1 with an error').isVisible());
  // The queue's figures count it as retrying.
  const retrying = admin.locator('.kpi').filter({ hasText: 'Retrying' }).locator('.kpi-value');
  assert.equal(await retrying.textContent(), '1');
  await checkA11y(admin, 'endpoint with a failed delivery');

  // Rotate: a new secret, shown once; the old one signs for 24 more hours.
  await admin.getByRole('region', { name: hook }).getByRole('button', { name: 'Rotate secret' }).click();
  await admin.getByRole('heading', { name: 'New signing secret' }).waitFor();
  const rotated = (await admin.locator('#secret-value').textContent()).trim();
  assert.match(rotated, /^whsec_/);
  assert.notEqual(rotated, secret);
  assert.ok(await admin.getByText(/old secret keeps signing beside the new one for 24 hours/).isVisible());
  assert.equal(countOf(await admin.content(), 'whsec_'), 1);
  await admin.goto(`${url}/admin/webhooks`);
  assert.equal(countOf(await admin.content(), 'whsec_'), 0);
  assert.ok(await admin.getByRole('region', { name: hook }).getByText(/Still signs beside the new one until/).isVisible());

  // Off and on again.
  await admin.getByRole('region', { name: hook }).getByRole('button', { name: 'Turn off' }).click();
  await admin.getByText('The endpoint is turned off').waitFor();
  assert.ok(await admin.getByRole('region', { name: hook }).getByText('turned off by an admin').isVisible());
  await admin.getByRole('region', { name: hook }).getByRole('button', { name: 'Turn on' }).click();
  await admin.getByText('The endpoint is on again').waitFor();
  assert.equal(await admin.getByRole('region', { name: hook }).locator('.endpoint-head .badge').textContent(), 'Active');

  // Delete: behind a confirmation step.
  const region = admin.getByRole('region', { name: hook });
  const confirm = region.getByRole('button', { name: 'Yes, delete this endpoint' });
  assert.equal(await confirm.isVisible(), false, 'the delete button waits behind a confirmation');
  await region.getByText('Delete this endpoint…').click();
  await confirm.click();
  await admin.getByText('The endpoint and its delivery log are deleted.').waitFor();
  assert.equal(await admin.getByRole('region', { name: hook }).count(), 0);
  assert.ok(await admin.getByText('No endpoints yet.').isVisible());
  const api = await admin.request.get(`${url}/api/v1/webhooks`);
  assert.equal(api.status(), 200);
  assert.deepEqual((await api.json()).items, [], 'the API agrees: no endpoints');
  await checkA11y(admin, 'webhooks page after delete');
  assertNoProblems(admin, 'admin');
});

/** Waits until the notification queue has nothing due and every event is
 * expanded: the demo clinic starts with a backlog of notices, and an endpoint
 * added while it is being expanded would get its share of it. */
async function queueSettled(page, url) {
  let q;
  for (let i = 0; i < 120; i += 1) {
    const r = await page.request.get(`${url}/api/v1/notifications`);
    assert.equal(r.status(), 200);
    q = await r.json();
    if (q.due === 0 && q.unexpanded_events === 0) return;
    await page.waitForTimeout(500);
  }
  assert.fail(`the demo's notification backlog did not settle: ${JSON.stringify(q)}`);
}

function countOf(haystack, needle) {
  return haystack.split(needle).length - 1;
}
