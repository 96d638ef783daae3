// A video visit through the clinic's own TURN relay (issue 9, README "Video
// visits across networks"): Debian's coturn, started here on loopback with
// the REST-API shared secret (`--use-auth-secret`), and medimeet started with
// `--turn-url` and `--turn-secret`, so it hands each browser a time-limited
// TURN login in the room's `welcome`. Both pages use relay-only ICE
// (`?relay=1`), so the only way media can flow is through coturn:
// - with the logins medimeet issues, the call connects, and the pair in use
//   is relay to relay (from getStats());
// - with logins that expired before they were used (the server's test clock
//   is set back beyond their lifetime before the browsers join), coturn
//   refuses them, no relay candidate exists and the call never connects.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { randomBytes } from 'node:crypto';
import { startServer, launch, newPage, moveClock } from './helpers.mjs';
import { FAKE_MEDIA, bookVisit, loginAs, join, waitState, until, mediaFlowsInto, selectedPair } from './visit-helpers.mjs';

const SECRET = randomBytes(24).toString('hex');
const TTL_MINUTES = 10;

let turn;
let server;
let chromium;

/** A UDP port nobody listens on now. */
async function freePort() {
  const sock = createSocket('udp4');
  await new Promise((resolve) => sock.bind(0, '127.0.0.1', resolve));
  const { port } = sock.address();
  await new Promise((resolve) => sock.close(resolve));
  return port;
}

/** Whether a STUN server answers a Binding request on 127.0.0.1:`port`. */
async function stunAnswers(port) {
  const sock = createSocket('udp4');
  try {
    const request = Buffer.alloc(20);
    request.writeUInt16BE(0x0001, 0); // Binding request, no attributes
    request.writeUInt32BE(0x2112a442, 4); // magic cookie
    randomBytes(12).copy(request, 8);
    const answered = new Promise((resolve) => {
      sock.on('message', (msg) => resolve(msg.length >= 20 && msg.readUInt16BE(0) === 0x0101));
      setTimeout(() => resolve(false), 500);
    });
    sock.send(request, port, '127.0.0.1');
    return await answered;
  } finally {
    sock.close();
  }
}

/** Debian's coturn on loopback (on `port_`, or a free port), its own pid
 * file and database in a temporary directory (nothing of the system's coturn
 * is touched). */
async function startTurn(port_ = undefined) {
  const dir = mkdtempSync(joinPath(tmpdir(), 'medimeet-turn-'));
  const port = port_ ?? await freePort();
  const child = spawn('turnserver', ['-n', '--listening-ip=127.0.0.1', '--relay-ip=127.0.0.1',
    `--listening-port=${port}`, '--use-auth-secret', `--static-auth-secret=${SECRET}`,
    '--realm=medimeet.test', '--no-tls', '--no-dtls', '--no-cli', '--allow-loopback-peers',
    '--log-file=stdout', '--simple-log', `--pidfile=${joinPath(dir, 'turnserver.pid')}`,
    `--userdb=${joinPath(dir, 'turndb')}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout.on('data', (c) => { log += c.toString(); });
  child.stderr.on('data', (c) => { log += c.toString(); });
  const spawned = new Promise((resolve, reject) => {
    child.once('error', (e) => reject(new Error(`turnserver did not start (apt-get install coturn): ${e.message}`)));
    child.once('spawn', resolve);
  });
  await spawned;
  await until(async () => child.exitCode === null && stunAnswers(port), `coturn answers on ${port}:\n${log}`, 20_000);
  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  };
  return { port, stop, log: () => log };
}

before(async () => {
  turn = await startTurn();
  server = await startServer({ MEDIMEET_MIN_NOTICE_MINUTES: '0', MEDIMEET_VISIT_OPENS_MINUTES: '1440' }, {
    args: ['--turn-url', `turn:127.0.0.1:${turn.port}?transport=udp`, '--turn-secret', SECRET,
      '--turn-ttl-minutes', String(TTL_MINUTES)],
  });
  chromium = await launch(FAKE_MEDIA);
});

after(async () => {
  await chromium?.close();
  await server?.stop();
  await turn?.stop();
});

/** The types of the candidates a page's connection has gathered. */
async function localCandidateTypes(page) {
  return page.evaluate(async () => {
    const types = [];
    (await window.medimeetVisit.pc.getStats()).forEach((s) => {
      if (s.type === 'local-candidate') types.push(s.candidateType);
    });
    return types;
  });
}

test('relay only, with the logins medimeet issues, the call goes through coturn', async () => {
  const { url } = server;
  const visit = await bookVisit(url);
  const patient = await newPage(chromium.browser);
  const doctor = await newPage(chromium.browser);
  await loginAs(patient, url, visit.patient);
  await loginAs(doctor, url, visit.doctor);
  await join(patient, url, visit.id, '?relay=1');
  await join(doctor, url, visit.id, '?relay=1');
  await waitState(doctor, 'connected');
  await waitState(patient, 'connected');
  // The welcome carried the TURN server with a login of the coturn scheme.
  const servers = await doctor.evaluate(() => window.medimeetVisit.pc.getConfiguration().iceServers);
  const turnServer = servers.find((s) => [].concat(s.urls).some((u) => u.startsWith('turn:')));
  assert.ok(turnServer, `a TURN server in ${JSON.stringify(servers)}`);
  assert.match(turnServer.username, /^\d+:/, 'username is <expiry>:<user>');
  assert.deepEqual(await selectedPair(doctor), { local: 'relay', remote: 'relay' });
  assert.deepEqual(await selectedPair(patient), { local: 'relay', remote: 'relay' });
  await mediaFlowsInto(patient, 'patient through the relay');
  await mediaFlowsInto(doctor, 'doctor through the relay');
  await patient.context().close();
  await doctor.context().close();
});

test('the relay goes down mid-call: the doctor restarts ICE and the same connection comes back', async () => {
  const { url } = server;
  const visit = await bookVisit(url, { doctorEmail: 'omar.haddad@medimeet.test' });
  const patient = await newPage(chromium.browser);
  const doctor = await newPage(chromium.browser);
  await loginAs(patient, url, visit.patient);
  await loginAs(doctor, url, visit.doctor);
  await join(patient, url, visit.id, '?relay=1');
  await join(doctor, url, visit.id, '?relay=1');
  await waitState(doctor, 'connected');
  await waitState(patient, 'connected');
  // Mark both connections, to tell an ICE restart from a fresh connection.
  await doctor.evaluate(() => { window.medimeetVisit.pc.marked = true; });
  await patient.evaluate(() => { window.medimeetVisit.pc.marked = true; });

  // coturn stops (its relayed addresses are gone) and starts again.
  const { port } = turn;
  await turn.stop();
  await waitState(doctor, 'reconnecting', 60_000);
  turn = await startTurn(port);
  await waitState(doctor, 'connected', 60_000);
  await waitState(patient, 'connected', 60_000);
  assert.equal(await doctor.evaluate(() => window.medimeetVisit.pc.marked), true, 'an ICE restart, not a new connection');
  assert.equal(await patient.evaluate(() => window.medimeetVisit.pc.marked), true, 'the patient answered on the same connection');
  assert.deepEqual(await selectedPair(doctor), { local: 'relay', remote: 'relay' });
  await mediaFlowsInto(patient, 'patient after the ICE restart');
  await mediaFlowsInto(doctor, 'doctor after the ICE restart');
  await patient.context().close();
  await doctor.context().close();
});

test('relay only, with expired logins, coturn refuses and the call does not connect', async () => {
  const { url } = server;
  const visit = await bookVisit(url, { doctorEmail: 'grace.mensah@medimeet.test' });
  // The logins issued now expire TTL minutes after the server's clock, which
  // is set back further than that: coturn (on the real clock) sees them as
  // expired from the start.
  await moveClock(url, -(TTL_MINUTES + 5) * 60);
  try {
    const patient = await newPage(chromium.browser);
    const doctor = await newPage(chromium.browser);
    await loginAs(patient, url, visit.patient);
    await loginAs(doctor, url, visit.doctor);
    await join(patient, url, visit.id, '?relay=1');
    await join(doctor, url, visit.id, '?relay=1');
    // The doctor offers, the patient answers; both finish gathering.
    for (const page of [doctor, patient]) {
      await until(() => page.evaluate(() => {
        const pc = window.medimeetVisit.pc;
        return pc && pc.remoteDescription && pc.iceGatheringState === 'complete';
      }), 'ICE gathering completes');
    }
    const username = await doctor.evaluate(() => window.medimeetVisit.pc.getConfiguration().iceServers
      .map((s) => s.username).find(Boolean));
    assert.ok(Number(username.split(':')[0]) * 1000 < Date.now(), `the login ${username} had already expired`);
    // No relay candidate: relay-only ICE has nothing to try.
    assert.deepEqual(await localCandidateTypes(doctor), []);
    assert.deepEqual(await localCandidateTypes(patient), []);
    // And in the ten seconds after that, neither side connects.
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      for (const page of [doctor, patient]) {
        assert.notEqual(await page.evaluate(() => window.medimeetVisit.pc?.connectionState), 'connected');
        assert.notEqual(await page.evaluate(() => window.medimeetVisit.state), 'connected');
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    // coturn looked at that login and refused it (an expired REST-API login
    // has no credentials as far as it is concerned).
    assert.ok(turn.log().includes(`Cannot find credentials of user <${username}>`), turn.log());
    await patient.context().close();
    await doctor.context().close();
  } finally {
    await moveClock(url, (TTL_MINUTES + 5) * 60);
  }
});
