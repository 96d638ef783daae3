// Takes the README's screenshots (docs/screenshots/*.png) from the real
// binary in Debian's headless Chromium, on a fresh demo clinic. Run through
// scripts/screenshots.sh (`npm run screenshots`); the browser tests
// (tests/browser/) write nothing in the work tree.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, launch, newPage, login, doctorPath, freeTimes, root, DEMO } from '../tests/browser/helpers.mjs';

// SCREENSHOTS_DIR writes them elsewhere (to look before replacing them).
const dir = process.env.SCREENSHOTS_DIR || join(root, 'docs', 'screenshots');
mkdirSync(dir, { recursive: true });

async function shoot(page, name) {
  const path = join(dir, name);
  await page.screenshot({ path, fullPage: true });
  console.log(`wrote ${path}`);
}

const server = await startServer();
const chromium = await launch();
try {
  const { url } = server;

  // A patient in Paris chooses a time two or more days ahead with a
  // dermatologist, then books it.
  const patient = await newPage(chromium.browser, { timezoneId: 'Europe/Paris' });
  await login(patient, url, DEMO.patient.login, DEMO.patient.password);
  await patient.goto(`${url}${await doctorPath(patient, url, 'Lukas Schneider')}`);
  const [slot] = await freeTimes(patient, { from: 2 });
  if (!slot) throw new Error('Dr. Lukas Schneider has no free time two or more days ahead');
  await slot.radio.check();
  await patient.getByLabel('Reason for the visit').fill('A rash that will not go away');
  await shoot(patient, 'patient-booking.png');
  await patient.getByRole('button', { name: 'Book this time' }).click();
  await patient.waitForURL(/\/appointments\/\d+$/);
  await shoot(patient, 'patient-confirmation.png');

  // A doctor's week: the demo history and bookings, plus one new visit.
  await patient.goto(`${url}${await doctorPath(patient, url, 'James Whitaker')}`);
  const [visit] = await freeTimes(patient);
  if (visit) {
    await visit.radio.check();
    await patient.getByLabel('Reason for the visit').fill('Persistent cough');
    await patient.getByRole('button', { name: 'Book this time' }).click();
    await patient.waitForURL(/\/appointments\/\d+$/);
  }
  const doctor = await newPage(chromium.browser, { timezoneId: 'Europe/London' });
  await login(doctor, url, 'james.whitaker@medimeet.test', DEMO.doctorPassword);
  await doctor.waitForURL(/\/doctor\/week/);
  await shoot(doctor, 'doctor-week.png');

  // The clinic dashboard.
  const admin = await newPage(chromium.browser, { timezoneId: 'America/Chicago' });
  await login(admin, url, DEMO.admin.login, DEMO.admin.password);
  await admin.getByRole('heading', { name: 'Clinic dashboard' }).waitFor();
  await shoot(admin, 'admin-dashboard.png');
} finally {
  await chromium.close();
  await server.stop();
}
