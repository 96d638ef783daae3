// Shared helpers of the browser tests: start the real medimeet binary on a
// fresh SQLite database, drive Debian's headless Chromium through
// playwright-core, and scan pages with axe-core.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { before, after } from 'node:test';

const here = dirname(fileURLToPath(import.meta.url));
export const root = join(here, '..', '..');
const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

export const DEMO = {
  patient: { login: '+12025550143', password: 'patient-demo-pass' },
  admin: { login: 'admin@medimeet.test', password: 'admin-demo-pass' },
  doctorPassword: 'doctor-demo-pass',
};

/** Starts `medimeet serve --demo` on a random port; resolves to { url, stop }.
 * `databaseUrl` replaces the fresh SQLite file (several instances on one
 * PostgreSQL); `listen` a fixed address (an instance restarted where it was);
 * `args` are more flags for `serve`. */
export async function startServer(env = {}, { databaseUrl, listen = '127.0.0.1:0', args = [] } = {}) {
  const bin = process.env.MEDIMEET_BIN || join(root, 'target', 'debug', 'medimeet');
  assert.ok(existsSync(bin), `build the binary first: ${bin} is missing (cargo build)`);
  const dir = mkdtempSync(join(tmpdir(), 'medimeet-browser-'));
  const child = spawn(bin, ['serve', '--demo', '--listen', listen,
    '--database-url', databaseUrl || `sqlite:${join(dir, 'db')}`, ...args], {
    // Staff sessions outlive the clock moves tests make (decision 0026).
    env: { ...process.env, RUST_LOG: 'warn', MEDIMEET_STAFF_IDLE_MINUTES: '1440', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${output}`)), 60_000);
    const onData = (chunk) => {
      output += chunk.toString();
      const m = output.match(/running at (http:\/\/127\.0\.0\.1:\d+)\//);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (c) => { output += c.toString(); });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited (${code}):\n${output}`)); });
  });
  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  };
  return { url, stop };
}

/** Moves the server's clock `secs` seconds (back if negative). Only a binary
 * built with `--features test-clock` can (docs/decisions/0010-test-clock.md);
 * scripts/test.sh builds the browser tests' binary so. */
export async function moveClock(url, secs) {
  const r = await fetch(`${url}/__test/clock/advance?secs=${secs}`, { method: 'POST' });
  assert.equal(r.status, 200,
    `the server has no test clock (${r.status}): build it with cargo build --features test-clock --bin medimeet`);
}

/** Debian's Chromium, headless, with the flags that keep it off the network
 * (Playwright gives each launch a fresh temporary profile), and `extraArgs`
 * (the video visit's tests add fake media devices). */
export async function launch(extraArgs = []) {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      ...extraArgs],
  });
  const close = async () => { await browser.close(); };
  return { browser, close };
}

/** A fresh browser context (its own cookies) in a time zone. */
export async function newPage(browser, { timezoneId = 'America/New_York', width = 1280, height = 900 } = {}) {
  const context = await browser.newContext({ timezoneId, viewport: { width, height }, locale: 'en-US' });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  // Console errors such as a CSP refusal count; a form answered with a 4xx
  // status (shown as "Failed to load resource") is expected behaviour.
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) {
      problems.push(`console: ${m.text()}`);
    }
  });
  page.problems = problems;
  // The zone the pages show times in (freeTimes names the picker's days by it).
  page.timezoneId = timezoneId;
  return page;
}

/** Runs axe-core on the page; fails on any serious or critical violation. */
export async function checkA11y(page, label) {
  // Evaluated through the DevTools protocol: the page's CSP (rightly) refuses
  // an injected inline script, and stays on for the test.
  await page.evaluate(axeSource);
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) }));
  });
  const bad = result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad, [], `${label}: accessibility violations:\n${JSON.stringify(bad, null, 2)}`);
  return result;
}

/** No script errors (the CSP would report a blocked inline script here). */
export function assertNoProblems(page, label) {
  assert.deepEqual(page.problems, [], `${label}: browser reported problems`);
}

export async function login(page, url, who, password) {
  await page.goto(`${url}/login`);
  await page.getByLabel('Phone number or email').fill(who);
  await page.getByLabel('Password').fill(password);
  await Promise.all([page.waitForURL((u) => !u.pathname.startsWith('/login')), page.getByRole('button', { name: 'Log in' }).click()]);
}

/** Follows a link of the site's main navigation. */
export async function nav(page, name) {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name }).click();
  await page.waitForLoadState();
}

export async function logout(page) {
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.waitForURL((u) => u.pathname === '/');
}

/** The path of a demo or new doctor's page (`/doctors/<id>`), found by
 * searching for their name as a patient would: never a hard-coded id. */
export async function doctorPath(page, url, name) {
  await page.goto(`${url}/doctors?q=${encodeURIComponent(name)}`);
  const link = page.getByRole('link', { name: `Dr. ${name}`, exact: true });
  assert.equal(await link.count(), 1, `the search finds Dr. ${name}`);
  return link.getAttribute('href');
}

/** How the slot picker names a day (its legend, `Wed 3 Dec`): the day
 * `daysAhead` calendar days after today in `timeZone`. */
export function dayName(timeZone, daysAhead = 0) {
  const today = Object.fromEntries(new Intl.DateTimeFormat('en-US', {
    timeZone, year: 'numeric', month: 'numeric', day: 'numeric',
  }).formatToParts(new Date()).map((p) => [p.type, p.value]));
  const day = new Date(Date.UTC(Number(today.year), Number(today.month) - 1,
    Number(today.day) + daysAhead, 12));
  const part = (o) => new Intl.DateTimeFormat('en-US', { timeZone: 'UTC', ...o }).format(day);
  return `${part({ weekday: 'short' })} ${part({ day: 'numeric' })} ${part({ month: 'short' })}`;
}

/** The free times a page's slot picker offers on the days `from` to `to`
 * calendar days after today (0 is today, in the page's time zone), each day
 * found by its name, earliest first: [{ value, name, radio }], where `value`
 * is the slot's instant and `radio` finds it by its accessible name. */
export async function freeTimes(page, { from = 0, to = 6 } = {}) {
  // The picker shows times in the page's zone once the browser has said it.
  await page.getByText(`Times in ${page.timezoneId}`).waitFor();
  const times = [];
  for (let d = from; d <= to; d += 1) {
    const name = dayName(page.timezoneId, d);
    const day = page.getByRole('group', { name: new RegExp(`^${name}( Today)?$`) });
    times.push(...await day.getByRole('radio').evaluateAll((inputs) => inputs.map((i) => ({
      value: i.value,
      name: [...i.labels].map((l) => l.textContent).join(' ').replace(/\s+/g, ' ').trim(),
    }))));
  }
  times.sort((a, b) => Date.parse(a.value) - Date.parse(b.value));
  return times.map((t) => ({
    ...t,
    radio: page.getByRole('radio', { name: t.name, exact: true }).and(page.locator(`[value="${t.value}"]`)),
  }));
}

let phoneSeq = 0;
/** A fresh valid US phone number for a new patient. */
export function newPhone() {
  phoneSeq += 1;
  const n = (Date.now() % 9000) + phoneSeq * 7;
  return `+1312555${String(1000 + (n % 9000)).padStart(4, '0')}`;
}

/**
 * One medimeet server and one browser for a test file: started before its
 * tests, stopped after them. The tests read `env.server` and `env.chromium`.
 */
export function useServerAndBrowser(serverEnv = {}, launchArgs = []) {
  const env = {};
  before(async () => {
    env.server = await startServer(serverEnv);
    env.chromium = await launch(launchArgs);
  });
  after(async () => {
    await env.chromium?.close();
    await env.server?.stop();
  });
  return env;
}
