// A video visit across two medimeet instances on one PostgreSQL (issue 9,
// docs/visit.md "Several instances"): the patient's browser talks to
// instance A, the doctor's to instance B, as behind a load balancer. The
// signaling and the chat cross through the database (rows, NOTIFY); the call
// connects, the media flows both ways and the chat crosses both ways.
//
// Then the doctor's instance stops and starts again on its address: the
// doctor's page reconnects by itself and the call comes back.
//
// PostgreSQL is the one at MEDIMEET_TEST_PG_URL (default
// postgres://postgres@127.0.0.1:5432/postgres), like the Rust tests: a fresh
// database is created for this file and dropped at the end. The first
// instance loads the demo clinic into it; the second finds it loaded.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { startServer, launch, newPage } from './helpers.mjs';
import { FAKE_MEDIA, bookVisit, loginAs, join, waitState, until, mediaFlowsInto } from './visit-helpers.mjs';

const adminUrl = process.env.MEDIMEET_TEST_PG_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
const dbName = `medimeet_test_visit_${process.pid}`;
const dbUrl = `${adminUrl.replace(/\/[^/]*$/, '')}/${dbName}`;

function psql(sql) {
  execFileSync('psql', [adminUrl, '-v', 'ON_ERROR_STOP=1', '-qc', sql], { stdio: ['ignore', 'pipe', 'pipe'] });
}

let a;
let b;
let chromium;

// No minimum notice and a room that opens a day ahead: the visit booked
// first thing is open at once, with no clock to move on two instances.
const env = { MEDIMEET_MIN_NOTICE_MINUTES: '0', MEDIMEET_VISIT_OPENS_MINUTES: '1440' };

before(async () => {
  psql(`CREATE DATABASE ${dbName}`);
  a = await startServer(env, { databaseUrl: dbUrl });
  b = await startServer(env, { databaseUrl: dbUrl });
  chromium = await launch(FAKE_MEDIA);
});

after(async () => {
  await chromium?.close();
  await a?.stop();
  await b?.stop();
  psql(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
});

test('patient on one instance, doctor on another: the call connects, the chat crosses, a restart heals', async () => {
  assert.notEqual(a.url, b.url);
  const visit = await bookVisit(a.url);
  const patient = await newPage(chromium.browser);
  const doctor = await newPage(chromium.browser);
  await loginAs(patient, a.url, visit.patient);
  await loginAs(doctor, b.url, visit.doctor);

  await join(patient, a.url, visit.id);
  await waitState(patient, 'waiting');
  await join(doctor, b.url, visit.id);
  await waitState(doctor, 'connected');
  await waitState(patient, 'connected');
  await mediaFlowsInto(patient, 'patient on A receives the doctor on B');
  await mediaFlowsInto(doctor, 'doctor on B receives the patient on A');

  await patient.getByLabel('Message').fill('Sent through instance A');
  await patient.getByLabel('Message').press('Enter');
  await doctor.locator('#chat-log .chat-text', { hasText: 'Sent through instance A' }).waitFor();
  await doctor.getByLabel('Message').fill('Answered through instance B');
  await doctor.getByLabel('Message').press('Enter');
  await patient.locator('#chat-log .chat-text', { hasText: 'Answered through instance B' }).waitFor();
  // Delivered at least once, shown once.
  assert.equal(await patient.locator('#chat-log .chat-text', { hasText: 'Answered through instance B' }).count(), 1);
  assert.equal(await doctor.locator('#chat-log .chat-text', { hasText: 'Sent through instance A' }).count(), 1);

  // Instance B stops and comes back where it was: the doctor's page finds
  // it again by itself (no reload), and calls the patient again.
  await doctor.evaluate(() => {
    window.seenStates = [];
    const status = document.getElementById('visit-status');
    new MutationObserver(() => window.seenStates.push(status.getAttribute('data-state')))
      .observe(status, { attributes: true, attributeFilter: ['data-state'] });
  });
  const address = new URL(b.url).host;
  await b.stop();
  b = await startServer(env, { databaseUrl: dbUrl, listen: address });
  assert.equal(new URL(b.url).host, address);
  await until(async () => (await doctor.evaluate(() => window.seenStates)).includes('connected'),
    'the doctor is connected again after instance B restarted', 60_000);
  await waitState(patient, 'connected');
  const seen = await doctor.evaluate(() => window.seenStates);
  assert.ok(seen.includes('reconnecting'), `the doctor was told the call was reconnecting: ${seen.join(', ')}`);
  await mediaFlowsInto(patient, 'patient after B restarted');
  await mediaFlowsInto(doctor, 'doctor after B restarted');
  await doctor.getByLabel('Message').fill('Back through the new instance B');
  await doctor.getByLabel('Message').press('Enter');
  await patient.locator('#chat-log .chat-text', { hasText: 'Back through the new instance B' }).waitFor();

  // The patient hangs up on A; the doctor on B is told.
  await patient.getByRole('button', { name: 'Hang up' }).click();
  await waitState(doctor, 'left');
  await patient.context().close();
  await doctor.context().close();
});
