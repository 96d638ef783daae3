// Every page, as each kind of visitor: no serious or critical axe-core
// violations, no script or CSP errors, and no sideways scrolling on a phone or
// at 200% zoom (a 1280-pixel window zoomed to 200% lays out like 640 pixels).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServerAndBrowser, newPage, login, checkA11y, assertNoProblems, doctorPath, freeTimes, DEMO } from './helpers.mjs';

const env = useServerAndBrowser();

async function scan(page, url, path, { widths = [1280, 640, 375] } = {}) {
  await page.setViewportSize({ width: 1280, height: 900 });
  const res = await page.goto(`${url}${path}`);
  assert.ok(res, path);
  await checkA11y(page, path);
  for (const width of widths) {
    await page.setViewportSize({ width, height: 800 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 1, `${path} scrolls sideways by ${overflow}px at ${width}px`);
  }
  await page.setViewportSize({ width: 1280, height: 900 });
  return res;
}

test('the public pages are accessible', async () => {
  const { url } = env.server;
  const page = await newPage(env.chromium.browser);
  const okafor = await doctorPath(page, url, 'Amara Okafor');
  for (const path of ['/', '/login', '/login?expired=1&next=/appointments', '/signup', '/doctors',
    '/doctors?specialty=Pediatrics', okafor]) {
    await scan(page, url, path);
  }
  const missing = await scan(page, url, '/no/such/page');
  assert.equal(missing.status(), 404);
  assert.ok(await page.getByRole('heading', { name: 'Page not found' }).isVisible());

  // Keyboard: the first Tab reaches the skip link, which moves to the content.
  await page.goto(`${url}/`);
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Skip to main content');
  await page.keyboard.press('Enter');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'main');

  // A form with mistakes.
  await page.goto(`${url}/login`);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.locator('.error-summary').waitFor();
  assert.equal(await page.evaluate(() => document.activeElement?.className), 'error-summary',
    'the error summary takes the focus so it is read out');
  await checkA11y(page, 'login with errors');
  await page.getByLabel('Phone number or email').fill('+12025550143');
  await page.getByLabel('Password').fill('wrong password');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByText('do not match an account').waitFor();
  await checkA11y(page, 'login refused');
  assertNoProblems(page, 'public pages');
});

test('the patient pages are accessible', async () => {
  const { url } = env.server;
  const page = await newPage(env.chromium.browser);
  await login(page, url, DEMO.patient.login, DEMO.patient.password);
  await scan(page, url, '/appointments');
  await scan(page, url, await doctorPath(page, url, 'Sofia Martins'));
  // The earliest free time two or more days ahead.
  const later = await freeTimes(page, { from: 2 });
  assert.ok(later.length > 0, 'free times two or more days ahead');
  await later[0].radio.check();
  await page.getByRole('button', { name: 'Book this time' }).click();
  await page.waitForURL(/\/appointments\/\d+$/);
  const visit = new URL(page.url()).pathname;
  await scan(page, url, visit);
  await scan(page, url, `${visit}/reschedule`);
  await scan(page, url, '/appointments');
  // A page that is not theirs does not exist for them.
  const admin = await page.goto(`${url}/admin`);
  assert.equal(admin.status(), 404);
  assertNoProblems(page, 'patient pages');
});

test('the doctor pages are accessible', async () => {
  const { url } = env.server;
  const page = await newPage(env.chromium.browser);
  await login(page, url, 'amara.okafor@medimeet.test', DEMO.doctorPassword);
  await scan(page, url, '/doctor/week');
  await scan(page, url, '/doctor/week?start=2026-01-05');
  await scan(page, url, '/doctor/hours');
  await page.goto(`${url}/doctor/week`);
  await page.getByRole('link', { name: 'Previous week' }).click();
  await page.waitForURL(/\/doctor\/week\?/);
  // A visit of Lena Fischer, the demo history's first patient of every day
  // with visits (so she has at most one a day), on the first such day.
  let href = null;
  for (const weekday of ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday']) {
    const visit = page.getByRole('region', { name: new RegExp(`^${weekday} `) })
      .getByRole('link', { name: 'Lena Fischer', exact: true });
    if (await visit.count()) {
      href = await visit.getAttribute('href');
      break;
    }
  }
  assert.ok(href, 'the demo clinic has visits last week');
  await scan(page, url, href);
  assertNoProblems(page, 'doctor pages');
});

test('the admin pages are accessible', async () => {
  const { url } = env.server;
  const page = await newPage(env.chromium.browser);
  await login(page, url, DEMO.admin.login, DEMO.admin.password);
  for (const path of ['/admin', '/admin/doctors', '/admin/doctors/new']) {
    await scan(page, url, path);
  }
  // A demo doctor's pages, found by name in the doctors list.
  await page.goto(`${url}/admin/doctors`);
  const doctor = await page.getByRole('link', { name: 'Edit Dr. Amara Okafor', exact: true }).getAttribute('href');
  const hours = await page.getByRole('link', { name: 'Hours of Dr. Amara Okafor', exact: true }).getAttribute('href');
  await scan(page, url, doctor);
  await scan(page, url, hours);
  await scan(page, url, '/admin/appointments');
  // Completed visits of a demo doctor, chosen by name in the filter.
  await page.getByLabel('Doctor').selectOption({ label: 'Dr. Lukas Schneider' });
  await page.getByLabel('Status').selectOption('completed');
  await page.getByRole('button', { name: 'Filter' }).click();
  await page.waitForURL(/status=completed/);
  const filtered = new URL(page.url());
  await scan(page, url, `${filtered.pathname}${filtered.search}`);
  const table = page.getByRole('table', { name: 'Appointments' });
  const rows = await table.getByRole('row').filter({ has: page.getByRole('rowheader') }).count();
  assert.ok(rows > 0, 'the demo clinic has completed visits');
  // Each row's header links to the visit, named by its time, and the list is
  // in time order: open the earliest by that name (one doctor has one visit
  // at a time, so the name is unique).
  const [earliest] = await table.getByRole('rowheader').getByRole('link').allTextContents();
  await table.getByRole('link', { name: earliest, exact: true }).click();
  await page.waitForURL(/\/appointments\/\d+$/);
  await checkA11y(page, 'appointment (admin)');
  assertNoProblems(page, 'admin pages');
});
