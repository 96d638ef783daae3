// What the video visit's browser tests share (visit*.test.mjs): a visit
// booked through the API that starts within minutes, the room page joined,
// and what the browsers' own WebRTC statistics say about the media.
import assert from 'node:assert/strict';
import { DEMO, login, newPhone } from './helpers.mjs';

/** Chromium's fake camera and microphone, and no permission prompt. */
export const FAKE_MEDIA = ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'];

/** A call to the JSON API, with a bearer token when given. */
export async function api(url, path, { method = 'GET', token, body } = {}) {
  const headers = { accept: 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${url}/api/v1${path}`, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { json = null; }
  return { status: res.status, json, text };
}

/** A session token for `credentials` ({ phone | email, password }). */
export async function apiToken(url, credentials) {
  const r = await api(url, '/sessions', { method: 'POST', body: credentials });
  assert.equal(r.status, 201, `log in: ${r.text}`);
  return r.json.token;
}

const WEEK = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'];

/**
 * Books a visit of a new patient with a demo doctor, through the API, at the
 * doctor's first free time at least `minutesAhead` minutes from the server's
 * now. The doctor works around the clock first, so with the server's
 * `MEDIMEET_MIN_NOTICE_MINUTES=0` the first free time starts within one visit
 * length. Resolves to the visit: { id, start (ms), doctor, patient }.
 */
export async function bookVisit(url, {
  doctorEmail = 'james.whitaker@medimeet.test', minutesAhead = 0, reason = 'A rash on the left arm',
  serverNow = Date.now(),
} = {}) {
  const doctorToken = await apiToken(url, { email: doctorEmail, password: DEMO.doctorPassword });
  const me = await api(url, '/me', { token: doctorToken });
  const doctor = me.json.doctor;
  const hours = await api(url, `/doctors/${doctor.id}/availability`, { token: doctorToken });
  const put = await api(url, `/doctors/${doctor.id}/availability`, {
    method: 'PUT',
    token: doctorToken,
    body: {
      visit_minutes: hours.json.visit_minutes,
      buffer_minutes: 0,
      weekly: WEEK.map((weekday) => ({ weekday, start: '00:00', end: '24:00' })),
      overrides: [],
    },
  });
  assert.equal(put.status, 200, `around-the-clock hours: ${put.text}`);

  const patient = {
    first: 'Vera', last: `Visit${Math.floor(Math.random() * 1e6)}`,
    phone: newPhone(), password: 'visit-test-password-1',
  };
  patient.name = `${patient.first} ${patient.last}`;
  const reg = await api(url, '/patients', {
    method: 'POST',
    body: {
      first_name: patient.first, last_name: patient.last, phone: patient.phone,
      password: patient.password, date_of_birth: '1990-05-06',
    },
  });
  assert.equal(reg.status, 201, `register: ${reg.text}`);
  patient.token = await apiToken(url, { phone: patient.phone, password: patient.password });

  const slots = await api(url, `/doctors/${doctor.id}/slots`);
  const slot = slots.json.items.find((s) => Date.parse(s.start) >= serverNow + minutesAhead * 60_000);
  assert.ok(slot, 'a free time');
  const booked = await api(url, '/appointments', {
    method: 'POST', token: patient.token, body: { doctor_id: doctor.id, start: slot.start, reason },
  });
  assert.equal(booked.status, 201, `book: ${booked.text}`);
  return {
    id: booked.json.id,
    start: Date.parse(booked.json.start),
    reason,
    doctor: { id: doctor.id, email: doctorEmail, name: `Dr. ${doctor.first_name} ${doctor.last_name}`, token: doctorToken },
    patient,
  };
}

/** Logs in on the page as the visit's patient or doctor. */
export async function loginAs(page, url, who) {
  if (who.email) {
    await login(page, url, who.email, DEMO.doctorPassword);
  } else {
    await login(page, url, who.phone, who.password);
  }
}

/** Opens the room page and joins the visit. */
export async function join(page, url, id, query = '') {
  await page.goto(`${url}/appointments/${id}/visit${query}`);
  await page.getByRole('button', { name: 'Join the visit' }).click();
}

/** Waits until the room's status says `state` (its data-state). */
export async function waitState(page, state, timeout = 30_000) {
  await page.locator(`#visit-status[data-state="${state}"]`).waitFor({ timeout });
}

/** What the page's RTCPeerConnection has received so far, from getStats()
 * (the room's test hook, window.medimeetVisit). */
export async function received(page) {
  return page.evaluate(async () => {
    const pc = window.medimeetVisit && window.medimeetVisit.pc;
    const out = { framesDecoded: 0, audioPackets: 0, audioBytes: 0, state: pc ? pc.connectionState : 'none' };
    if (!pc) return out;
    const stats = await pc.getStats();
    stats.forEach((s) => {
      if (s.type !== 'inbound-rtp') return;
      if (s.kind === 'video') out.framesDecoded += s.framesDecoded || 0;
      if (s.kind === 'audio') {
        out.audioPackets += s.packetsReceived || 0;
        out.audioBytes += s.bytesReceived || 0;
      }
    });
    return out;
  });
}

/** Polls `check` every 200 ms until it returns a truthy value; fails with
 * `label` after `timeout` ms. Resolves to that value. */
export async function until(check, label, timeout = 30_000) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    last = await check();
    if (last) return last;
    if (Date.now() > deadline) assert.fail(`timed out: ${label}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Waits until this page's inbound video frames decoded and inbound audio
 * packets and bytes all grow beyond what they were when called. */
export async function mediaFlowsInto(page, label) {
  const before = await received(page);
  return until(async () => {
    const now = await received(page);
    return now.framesDecoded > before.framesDecoded && now.audioPackets > before.audioPackets &&
      now.audioBytes > before.audioBytes && now;
  }, `${label}: inbound video frames and audio packets grow`);
}

/** The types of the local and remote candidates of the pair in use. */
export async function selectedPair(page) {
  return page.evaluate(async () => {
    const pc = window.medimeetVisit.pc;
    const stats = await pc.getStats();
    let pairId = null;
    stats.forEach((s) => { if (s.type === 'transport' && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId; });
    const pair = pairId && stats.get(pairId);
    if (!pair) return null;
    return { local: stats.get(pair.localCandidateId).candidateType, remote: stats.get(pair.remoteCandidateId).candidateType };
  });
}
