// A new patient signs up, finds a doctor by specialty, books a visit, sees it
// under My appointments, reschedules it and cancels it: the real binary, in a
// real browser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServerAndBrowser, newPage, nav, checkA11y, assertNoProblems, newPhone, freeTimes } from './helpers.mjs';

const env = useServerAndBrowser();

test('a patient signs up, books, reschedules and cancels a visit', async () => {
  const page = await newPage(env.chromium.browser, { timezoneId: 'Europe/Paris' });
  const { url } = env.server;

  // Sign up: an empty form first, so every field says what is wrong.
  await page.goto(`${url}/`);
  await page.getByRole('link', { name: 'Create an account' }).click();
  await page.getByRole('button', { name: 'Create account' }).click();
  const summary = page.locator('.error-summary');
  await summary.waitFor();
  for (const msg of ['First name must not be empty', 'Last name must not be empty',
    'Phone number is required', 'Date of birth must be a date written YYYY-MM-DD']) {
    assert.ok(await summary.getByText(msg).isVisible(), `summary names: ${msg}`);
  }
  assert.equal(await page.locator('#f-first_name').getAttribute('aria-invalid'), 'true');
  assert.equal(await page.locator('#e-phone').textContent(), 'Error: Phone number is required');
  await checkA11y(page, 'sign-up with errors');

  const phone = newPhone();
  await page.getByLabel('First name').fill('Maya');
  await page.getByLabel('Last name').fill('Lindqvist');
  await page.getByLabel('Phone number').fill(phone);
  await page.getByLabel('Date of birth').fill('1991-03-14');
  await page.getByLabel('Email (optional)').fill('maya@example.org');
  await page.getByLabel('Password').fill('short');
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.locator('#e-password').waitFor();
  assert.match(await page.locator('#e-password').textContent(), /Password must be at least 10 characters/);
  assert.equal(await page.getByLabel('First name').inputValue(), 'Maya', 'the form keeps what was typed');
  await page.getByLabel('Password').fill('a long enough password');
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.waitForURL(`${url}/doctors`);
  assert.ok(await page.getByText('Your account is ready').isVisible());
  assert.ok(await page.getByText('Maya Lindqvist').isVisible(), 'the header names the patient');

  // Find a doctor by specialty; times are in the browser's zone.
  assert.ok(await page.getByText('Times are shown in your time zone, Europe/Paris').isVisible());
  await page.getByLabel('Specialty').selectOption('Dermatology');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.waitForURL(/specialty=Dermatology/);
  const cards = page.locator('.doctor-card');
  assert.equal(await cards.count(), 2);
  for (const c of await cards.all()) {
    assert.equal(await c.locator('.specialty').textContent(), 'Dermatology');
  }
  await checkA11y(page, 'find a doctor');
  await page.getByRole('link', { name: 'See times & book with Dr. Lukas Schneider' }).click();
  await page.waitForURL(/\/doctors\/\d+$/);
  assert.ok(await page.getByText('Times in Europe/Paris').isVisible());

  // Book a time at least two days ahead (outside the 24-hour cancellation
  // window): the earliest free time two or more days after today.
  const later = await freeTimes(page, { from: 2 });
  assert.ok(later.length > 0, 'free times two or more days ahead');
  const first = later[0].radio;
  const chosenLabel = await first.getAttribute('data-label');
  await first.check();
  assert.equal(await page.locator('[data-slot-choice]').textContent(), `Selected: ${chosenLabel}`);
  await page.getByLabel('Reason for the visit').fill('A rash that will not go away');
  await checkA11y(page, 'doctor page');
  await page.getByRole('button', { name: 'Book this time' }).click();
  await page.waitForURL(/\/appointments\/\d+$/);
  assert.ok(await page.getByRole('heading', { name: "You're booked with Dr. Lukas Schneider" }).isVisible());
  assert.ok(await page.getByText('A rash that will not go away').isVisible());
  await checkA11y(page, 'booking confirmation');
  const visitUrl = page.url();

  // My appointments lists it as upcoming.
  await nav(page, 'My appointments');
  const upcoming = page.locator('section', { has: page.getByRole('heading', { name: 'Upcoming' }) });
  assert.ok(await upcoming.getByRole('link', { name: 'Dr. Lukas Schneider', exact: true }).isVisible());
  assert.ok(await upcoming.getByText('Booked').isVisible());
  await checkA11y(page, 'my appointments');

  // Reschedule to the latest free time two or more days ahead.
  await upcoming.getByRole('link', { name: /Reschedule your visit/ }).click();
  await page.waitForURL(/\/reschedule$/);
  await checkA11y(page, 'reschedule');
  const moveTo = await freeTimes(page, { from: 2 });
  assert.ok(moveTo.length > 0, 'free times to move to');
  await moveTo.at(-1).radio.check();
  await page.getByRole('button', { name: 'Move my visit' }).click();
  await page.waitForURL(visitUrl);
  assert.ok(await page.getByRole('heading', { name: 'Your visit with Dr. Lukas Schneider is moved' }).isVisible());

  // Cancel it with a reason.
  await page.getByLabel('Reason for cancelling').fill('Feeling better');
  await page.getByRole('button', { name: 'Cancel this visit' }).click();
  await page.waitForURL(visitUrl);
  assert.ok(await page.getByText('The visit has been cancelled.').isVisible());
  assert.ok(await page.locator('.details').getByText('Cancelled', { exact: true }).isVisible());
  assert.ok(await page.getByText('Feeling better').isVisible());
  await nav(page, 'My appointments');
  assert.ok(await page.getByText('You have no upcoming visits.').isVisible());
  const past = page.locator('section', { has: page.getByRole('heading', { name: 'Past and cancelled' }) });
  assert.ok(await past.getByText('Cancelled', { exact: true }).isVisible());

  // Log out: the session is gone, and the page says so.
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.waitForURL(`${url}/`);
  assert.ok(await page.getByText('You have logged out.').isVisible());
  await page.goto(`${url}/appointments`);
  await page.waitForURL(/\/login\?next=/);
  assert.ok(await page.getByText('Please log in to continue.').isVisible());
  assertNoProblems(page, 'patient journey');
});

test('an expired session sends the patient to log in again, with a message', async () => {
  const page = await newPage(env.chromium.browser);
  const { url } = env.server;
  await page.goto(`${url}/`);
  await page.getByRole('button', { name: 'Continue as demo patient' }).click();
  await page.waitForURL(`${url}/doctors`);
  // The server forgets the session (as when it expires); the browser still has the cookie.
  const cookies = await page.context().cookies();
  const session = cookies.find((c) => c.name === 'medimeet_session');
  assert.ok(session, 'session cookie set');
  assert.equal(session.httpOnly, true);
  assert.equal(session.sameSite, 'Lax');
  await page.context().addCookies([{ ...session, value: 'expired-or-forged-token' }]);
  await page.goto(`${url}/appointments`);
  await page.waitForURL(/\/login\?expired=1/);
  assert.ok(await page.getByText('Your session has expired. Please log in again to continue.').isVisible());
  await page.getByLabel('Phone number or email').fill('+1 202 555 0143');
  await page.getByLabel('Password').fill('patient-demo-pass');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL(`${url}/appointments`);
  assert.ok(await page.getByRole('heading', { name: 'My appointments' }).isVisible());
});
