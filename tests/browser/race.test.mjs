// Two patients race for the same slot in two browsers: one gets it, the other
// is told it was just taken and books another time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServerAndBrowser, newPage, checkA11y, assertNoProblems, newPhone, doctorPath, freeTimes } from './helpers.mjs';

const env = useServerAndBrowser();

async function signUp(page, url, first) {
  await page.goto(`${url}/signup`);
  await page.getByLabel('First name').fill(first);
  await page.getByLabel('Last name').fill('Racer');
  await page.getByLabel('Phone number').fill(newPhone());
  await page.getByLabel('Date of birth').fill('1985-07-01');
  await page.getByLabel('Password').fill('a long enough password');
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.waitForURL(`${url}/doctors`);
}

test('two patients race for one slot: the second is told it was just taken', async () => {
  const { url } = env.server;
  const alice = await newPage(env.chromium.browser, { timezoneId: 'Asia/Tokyo' });
  const bob = await newPage(env.chromium.browser, { timezoneId: 'America/Los_Angeles' });
  await signUp(alice, url, 'Alice');
  await signUp(bob, url, 'Bob');

  // Both open the same doctor and choose the same instant (shown in their own
  // zones): Alice's earliest free time two or more days ahead.
  const doctor = await doctorPath(alice, url, 'Priya Raman');
  await alice.goto(`${url}${doctor}`);
  await bob.goto(`${url}${doctor}`);
  const aliceLater = await freeTimes(alice, { from: 2 });
  assert.ok(aliceLater.length > 0, 'free times two or more days ahead');
  const { value } = aliceLater[0];
  await alice.locator(`input[name="start"][value="${value}"]`).check();
  await bob.locator(`input[name="start"][value="${value}"]`).check();
  assert.notEqual(
    await alice.locator(`input[value="${value}"]`).getAttribute('data-label'),
    await bob.locator(`input[value="${value}"]`).getAttribute('data-label'),
    'the same slot reads differently in Tokyo and Los Angeles',
  );

  // Alice books first.
  await alice.getByRole('button', { name: 'Book this time' }).click();
  await alice.waitForURL(/\/appointments\/\d+$/);
  assert.ok(await alice.getByRole('heading', { name: /You're booked with/ }).isVisible());

  // Bob's page still offers it; his booking is refused with a clear message.
  await bob.getByRole('button', { name: 'Book this time' }).click();
  const alert = bob.locator('.error-summary');
  await alert.waitFor();
  assert.match(await alert.textContent(), /that time was just taken by someone else/);
  assert.equal(await bob.locator(`input[name="start"][value="${value}"]`).count(), 0,
    'the taken slot is no longer offered');
  await checkA11y(bob, 'slot taken');

  // He picks another time (his earliest two or more days ahead) and gets it.
  const bobLater = await freeTimes(bob, { from: 2 });
  assert.ok(bobLater.length > 0, 'free times left two or more days ahead');
  await bobLater[0].radio.check();
  await bob.getByRole('button', { name: 'Book this time' }).click();
  await bob.waitForURL(/\/appointments\/\d+$/);
  assert.ok(await bob.getByRole('heading', { name: /You're booked with/ }).isVisible());
  assertNoProblems(alice, 'alice');
  assertNoProblems(bob, 'bob');
});
