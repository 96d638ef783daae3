// Calendar feeds (issue 11): a patient copies their private feed URL from
// their profile, a calendar app (here: a plain HTTP client with no cookies)
// reads it, and "Get a new link" retires it. The real binary, in a real
// browser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServerAndBrowser, newPage, nav, login, checkA11y, assertNoProblems, doctorPath, freeTimes, DEMO } from './helpers.mjs';

const env = useServerAndBrowser();

/** What a calendar app gets at `feedUrl`: no session, no cookies. */
async function subscribe(feedUrl) {
  const r = await fetch(feedUrl, { redirect: 'manual' });
  return { status: r.status, type: r.headers.get('content-type'), body: await r.text() };
}

test('a patient copies their calendar feed URL, and a new link retires it', async () => {
  const { url } = env.server;
  const page = await newPage(env.chromium.browser, { timezoneId: 'Europe/Paris' });
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: url });
  await login(page, url, DEMO.patient.login, DEMO.patient.password);

  // A visit to see in the calendar, booked with a reason that must stay out
  // of it; its page offers its own .ics.
  await page.goto(`${url}${await doctorPath(page, url, 'Lukas Schneider')}`);
  const times = await freeTimes(page, { from: 2 });
  assert.ok(times.length > 0, 'free times two or more days ahead');
  await times[0].radio.check();
  await page.getByLabel('Reason for the visit').fill('Private rash Qwx');
  await page.getByRole('button', { name: 'Book this time' }).click();
  await page.waitForURL(/\/appointments\/\d+$/);
  const id = new URL(page.url()).pathname.split('/').pop();
  const link = page.getByRole('link', { name: 'Add to calendar (.ics)' });
  assert.ok(await link.isVisible());
  const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
  assert.equal(download.suggestedFilename(), `visit-${id}.ics`);

  await nav(page, 'Profile');
  const card = page.getByRole('region', { name: 'Calendar subscription' });
  assert.ok(await card.isVisible(), 'the calendar card');
  for (const app of ['Google Calendar', 'Apple Calendar', 'Outlook']) {
    assert.ok(await card.getByText(app).isVisible(), `how to subscribe in ${app}`);
  }
  await checkA11y(page, 'profile with the calendar card');

  // Copy the address as a person would: the button, then the clipboard.
  const box = card.getByLabel('Your private calendar address');
  assert.equal(await box.getAttribute('readonly'), '', 'the address is read-only');
  await card.getByRole('button', { name: 'Copy address' }).click();
  await card.getByText('Address copied.').waitFor();
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  assert.equal(copied, await box.inputValue(), 'the clipboard holds the address');
  assert.match(copied, new RegExp(`^${url}/calendar/\\d+\\.\\d+\\.[A-Za-z0-9_-]+\\.ics$`));
  const webcal = await card.getByRole('link', { name: 'Open in my calendar app' }).getAttribute('href');
  assert.equal(webcal, copied.replace(/^http:\/\//, 'webcal://'));

  // A calendar app reads it: the visit just booked, in UTC, without its reason.
  const feed = await subscribe(copied);
  assert.equal(feed.status, 200);
  assert.equal(feed.type, 'text/calendar; charset=utf-8');
  assert.ok(feed.body.startsWith('BEGIN:VCALENDAR\r\n'), feed.body.slice(0, 80));
  assert.ok(feed.body.includes('\r\nMETHOD:PUBLISH\r\n'));
  assert.ok(feed.body.includes(`\r\nUID:appointment-${id}@127.0.0.1\r\n`), 'the booked visit');
  assert.ok(feed.body.includes('\r\nSUMMARY:Video visit with Dr. Lukas Schneider\r\n'));
  assert.match(feed.body, /\r\nDTSTART:\d{8}T\d{6}Z\r\n/);
  assert.ok(!feed.body.includes('Private rash Qwx'), 'no reason in the feed');

  // A new link: the page shows another address, the old one is a 404.
  await card.getByRole('button', { name: 'Get a new link' }).click();
  await page.getByText('Your calendar has a new link.').waitFor();
  assert.equal(new URL(page.url()).pathname, '/profile');
  const renewed = await page.getByLabel('Your private calendar address').inputValue();
  assert.notEqual(renewed, copied);
  assert.equal((await subscribe(copied)).status, 404, 'the old address answers 404');
  const again = await subscribe(renewed);
  assert.equal(again.status, 200);
  assert.ok(again.body.startsWith('BEGIN:VCALENDAR\r\n'));
  assert.ok(again.body.includes(`\r\nUID:appointment-${id}@127.0.0.1\r\n`));
  assertNoProblems(page, 'calendar');
});
