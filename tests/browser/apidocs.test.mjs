// The API docs page (Swagger UI) works under its own strict policy: no
// inline script, nothing framed. A CSP refusal shows as a console error,
// which fails the test (newPage collects them).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServerAndBrowser, newPage, assertNoProblems } from './helpers.mjs';

const env = useServerAndBrowser();

test('the API docs render every operation and try one, with no policy refusal', async () => {
  const { url } = env.server;
  const page = await newPage(env.chromium.browser);
  const res = await page.goto(`${url}/api/docs/`);
  const csp = res.headers()['content-security-policy'];
  assert.match(csp, /script-src 'self'(;|$)/);
  assert.match(csp, /frame-ancestors 'none'/);
  await page.locator('.opblock').first().waitFor();
  const operations = await page.locator('.opblock').count();
  assert.ok(operations > 20, `only ${operations} operations shown`);

  // "Try it out" on the doctors' directory: Swagger UI calls the API itself.
  const list = page.locator('.opblock-get', { hasText: '/api/v1/doctors' }).first();
  await list.locator('.opblock-summary').first().click();
  await list.getByRole('button', { name: 'Try it out' }).click();
  await list.getByRole('button', { name: 'Execute' }).click();
  const cell = list.locator('.live-responses-table tbody .response-col_status').first();
  await cell.waitFor();
  const status = (await cell.textContent()).trim();
  assert.equal(status, '200');
  assertNoProblems(page, 'API docs');

  // Framed by another page: refused, and the browser says why.
  const framer = await newPage(env.chromium.browser);
  await framer.setContent(`<iframe src="${url}/api/docs/" title="docs"></iframe>`);
  await framer.waitForTimeout(1500);
  const frame = framer.frames().find((f) => f !== framer.mainFrame());
  const framed = frame ? await frame.locator('#swagger-ui').count().catch(() => 0) : 0;
  assert.equal(framed, 0, 'the docs page loaded inside a frame');
  assert.ok(framer.problems.some((p) => p.includes('frame-ancestors')), framer.problems.join('\n'));
});
