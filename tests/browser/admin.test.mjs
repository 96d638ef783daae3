// An admin looks at the dashboard, adds a doctor (who then shows up in the
// patients' search), edits and deactivates them, and filters appointments.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServerAndBrowser, newPage, nav, login, checkA11y, assertNoProblems, dayName, DEMO } from './helpers.mjs';

const env = useServerAndBrowser();

test('an admin adds a doctor who then appears in the patients\' search', async () => {
  const { url } = env.server;
  const admin = await newPage(env.chromium.browser, { timezoneId: 'America/Chicago' });
  await login(admin, url, DEMO.admin.login, DEMO.admin.password);
  assert.equal(new URL(admin.url()).pathname, '/admin');
  assert.ok(await admin.getByRole('heading', { name: 'Clinic dashboard' }).isVisible());
  for (const h of ['Bookings per day', 'Utilization per doctor', 'How visits ended']) {
    assert.ok(await admin.getByRole('heading', { name: new RegExp(h) }).isVisible(), h);
  }
  assert.equal(await admin.locator('svg.svg-chart rect.col').count(), 30, 'one column per day');
  assert.equal(await admin.locator('.util-table tbody tr').count(), 12, 'one row per active doctor');
  await checkA11y(admin, 'dashboard');

  // Add a doctor: first with mistakes, each reported at its field.
  await nav(admin, 'Doctors');
  await checkA11y(admin, 'doctors list');
  await admin.getByRole('link', { name: 'Add a doctor' }).click();
  await admin.getByLabel('Email (their login)').fill('not an email');
  await admin.getByLabel('Years of experience').fill('many');
  await admin.getByLabel('Time zone of their working hours').fill('Mars/Olympus');
  await admin.getByRole('button', { name: 'Add doctor' }).click();
  const summary = admin.locator('.error-summary');
  await summary.waitFor();
  assert.match(await admin.locator('#e-email').textContent(), /Email is not a valid email address/);
  assert.match(await admin.locator('#e-experience_years').textContent(), /whole number/);
  assert.match(await admin.locator('#e-timezone').textContent(), /IANA time zone/);
  assert.match(await admin.locator('#e-first_name').textContent(), /First name must not be empty/);
  await checkA11y(admin, 'add doctor with errors');

  await admin.getByLabel('First name').fill('Noor');
  await admin.getByLabel('Last name').fill('Siddiqui');
  await admin.getByLabel('Email (their login)').fill('noor.siddiqui@clinic.test');
  await admin.getByLabel('First password').fill('welcome to the clinic');
  await admin.getByLabel('Specialty').fill('Rheumatology');
  await admin.getByLabel('Years of experience').fill('11');
  await admin.getByLabel('Time zone of their working hours').fill('Europe/Madrid');
  await admin.getByLabel('Fee per visit').fill('65.00');
  await admin.getByLabel('Visit length (minutes)').fill('25');
  await admin.getByRole('button', { name: 'Add doctor' }).click();
  await admin.getByText('The doctor has been added.').waitFor();
  const doctorUrl = admin.url();
  await checkA11y(admin, 'edit doctor');

  // Their hours, set by the admin, on the weekday two days from now in her
  // zone: inside the week the doctor page shows, and past the booking notice
  // whatever time of day the test runs (a fixed Tuesday had no slots left on
  // Tuesday afternoons).
  const weekdays = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
  const ahead = new Intl.DateTimeFormat('en-US', { weekday: 'short', timeZone: 'Europe/Madrid' })
    .format(new Date(Date.now() + 2 * 86_400_000));
  const day = weekdays.indexOf(ahead) + 1;
  assert.ok(day >= 1, `a weekday, got ${ahead}`);
  await admin.getByRole('link', { name: 'Working hours & time off' }).click();
  await admin.locator(`#d${day}r0s`).fill('10:00');
  await admin.locator(`#d${day}r0e`).fill('14:00');
  await admin.getByRole('button', { name: 'Save hours' }).click();
  await admin.getByText('Your working hours are saved.').waitFor();

  // A patient (not even logged in) finds them by specialty.
  const visitor = await newPage(env.chromium.browser, { timezoneId: 'Europe/Madrid' });
  await visitor.goto(`${url}/doctors`);
  await visitor.getByLabel('Specialty').selectOption('Rheumatology');
  await visitor.getByRole('button', { name: 'Search' }).click();
  await visitor.waitForURL(/specialty=Rheumatology/);
  assert.ok(await visitor.getByRole('link', { name: 'Dr. Noor Siddiqui', exact: true }).isVisible());
  assert.ok(await visitor.getByText('11 years of experience').isVisible());
  await visitor.getByRole('link', { name: 'Dr. Noor Siddiqui', exact: true }).click();
  // The picker's day two days from now (in the visitor's zone, hers too).
  await visitor.getByText('Times in Europe/Madrid').waitFor();
  const dayAhead = visitor.getByRole('region', { name: new RegExp(`^${dayName('Europe/Madrid', 2)}$`) });
  const slots = dayAhead.getByRole('listitem');
  assert.ok((await slots.count()) > 0, 'her hours two days from now give slots');
  for (const slot of await slots.all()) {
    assert.ok(await slot.isVisible(), 'her hours two days from now give slots');
  }
  assert.ok(await visitor.getByRole('link', { name: 'Log in to book' }).isVisible());
  await checkA11y(visitor, 'doctor page (anonymous)');

  // Edit, then deactivate: she disappears from the search.
  await admin.goto(doctorUrl);
  await admin.getByLabel('Years of experience').fill('12');
  await admin.getByRole('button', { name: 'Save changes' }).click();
  await admin.getByText('Changes saved.').waitFor();
  assert.equal(await admin.getByLabel('Years of experience').inputValue(), '12');
  await admin.getByRole('button', { name: 'Deactivate doctor' }).click();
  await admin.getByText('The doctor is deactivated').waitFor();
  await visitor.goto(`${url}/doctors?q=Siddiqui`);
  assert.ok(await visitor.getByText('No doctors match your search.').isVisible());
  await visitor.goto(doctorUrl.replace('/admin/doctors/', '/doctors/'));
  assert.ok(await visitor.getByRole('heading', { name: 'Page not found' }).isVisible());

  // All appointments, filtered.
  await nav(admin, 'Appointments');
  await admin.getByLabel('Doctor').selectOption({ label: 'Dr. Amara Okafor' });
  await admin.getByLabel('Status').selectOption('cancelled');
  await admin.getByRole('button', { name: 'Filter' }).click();
  await admin.waitForURL(/status=cancelled/);
  const table = admin.getByRole('table', { name: 'Appointments' });
  const rows = table.getByRole('row').filter({ has: admin.getByRole('rowheader') });
  assert.ok((await rows.count()) > 0, 'the demo clinic has cancelled visits');
  // A row's doctor is in the cell under the "Doctor" column header.
  const columns = await table.getByRole('columnheader').allTextContents();
  const doctorColumn = columns.indexOf('Doctor');
  assert.ok(doctorColumn >= 0, `a Doctor column, got ${columns}`);
  for (const row of await rows.all()) {
    assert.equal(await row.locator('.badge').textContent(), 'Cancelled');
    const cells = row.getByRole('rowheader').or(row.getByRole('cell'));
    assert.match(await cells.nth(doctorColumn).textContent(), /Dr\. Amara Okafor/);
  }
  await admin.getByLabel('From').fill('2099-01-01');
  await admin.getByRole('button', { name: 'Filter' }).click();
  await admin.waitForURL(/from=2099-01-01/);
  assert.ok(await admin.getByText('No appointments match.').isVisible());
  await admin.getByLabel("Patient's phone").fill('12');
  await admin.getByRole('button', { name: 'Filter' }).click();
  assert.match(await admin.locator('#e-patient').textContent(), /not a valid phone number/);
  await checkA11y(admin, 'appointments with filter error');
  assertNoProblems(admin, 'admin');
  assertNoProblems(visitor, 'visitor');
});
