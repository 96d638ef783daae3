// The video visit in two real browsers (issue 9, docs/visit.md): a patient
// and a doctor, each in their own browser context with Chromium's fake camera
// and microphone, meet in the visit's room. What each receives is read from
// the browser's own WebRTC statistics (the room's test hook,
// window.medimeetVisit.pc): inbound video frames decoded and inbound audio
// packets and bytes must grow, both ways (not audio energy, which the fake
// microphone leaves at 0).
//
// The visit is booked through the API with a doctor who works around the
// clock and no minimum notice, so it starts within minutes; the server is the
// test build, whose clock the test moves to the visit's start
// (docs/decisions/0010-test-clock.md) so the doctor's arrival starts the visit
// and the doctor can end it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, newPage, login, checkA11y, assertNoProblems, moveClock, DEMO } from './helpers.mjs';
import { FAKE_MEDIA, api, bookVisit, loginAs, join, waitState, received, until, mediaFlowsInto } from './visit-helpers.mjs';

let server;
let chromium;
// How far the test has moved the server's clock, in ms.
let clockOffset = 0;

before(async () => {
  server = await startServer({ MEDIMEET_MIN_NOTICE_MINUTES: '0' });
  chromium = await launch(FAKE_MEDIA);
});

after(async () => {
  await chromium?.close();
  await server?.stop();
});

const serverNow = () => Date.now() + clockOffset;

/** Moves the server's clock to a few seconds after `ms` (never back). */
async function clockTo(ms) {
  const secs = Math.ceil((ms - serverNow()) / 1000) + 2;
  if (secs > 0) {
    await moveClock(server.url, secs);
    clockOffset += secs * 1000;
  }
}

test('a patient and a doctor meet: video and audio both ways, chat, then the note', async () => {
  const { url } = server;
  const visit = await bookVisit(url, { serverNow: serverNow() });
  await clockTo(visit.start);

  // The patient arrives first, from the appointment page.
  const patient = await newPage(chromium.browser);
  await loginAs(patient, url, visit.patient);
  await patient.goto(`${url}/appointments/${visit.id}`);
  await patient.getByRole('link', { name: 'Join visit' }).click();
  await patient.waitForURL(`${url}/appointments/${visit.id}/visit`);
  await patient.getByRole('button', { name: 'Join the visit' }).click();
  await waitState(patient, 'waiting');
  assert.equal(await patient.locator('#visit-status').textContent(), `Waiting for ${visit.doctor.name}`);

  // The doctor's week says the patient is waiting, and joins from there.
  const doctor = await newPage(chromium.browser, { timezoneId: 'Europe/London' });
  await loginAs(doctor, url, visit.doctor);
  await doctor.goto(`${url}/doctor/week`);
  const card = doctor.locator('.week-visit', { has: doctor.locator(`a[href="/appointments/${visit.id}"]`) });
  await card.getByText('Patient waiting').waitFor();
  await card.getByRole('link', { name: /^Join visit/ }).click();
  await doctor.waitForURL(`${url}/appointments/${visit.id}/visit`);
  // The doctor's context: the reason for the visit.
  assert.ok(await doctor.getByText(visit.reason).isVisible());
  await doctor.getByRole('button', { name: 'Join the visit' }).click();

  await waitState(doctor, 'connected');
  await waitState(patient, 'connected');
  assert.equal(await patient.locator('#visit-status').textContent(), `Connected with ${visit.doctor.name}`);
  await mediaFlowsInto(patient, 'patient receives the doctor');
  await mediaFlowsInto(doctor, 'doctor receives the patient');

  // Mute and camera off switch the patient's own tracks off and on; each
  // button says what it will do next.
  await patient.getByRole('button', { name: 'Mute' }).click();
  assert.ok(await patient.getByRole('button', { name: 'Unmute' }).isVisible());
  assert.equal(await patient.evaluate(() => document.getElementById('local-video').srcObject.getAudioTracks()[0].enabled), false);
  await patient.getByRole('button', { name: 'Unmute' }).click();
  assert.equal(await patient.evaluate(() => document.getElementById('local-video').srcObject.getAudioTracks()[0].enabled), true);
  await patient.getByRole('button', { name: 'Turn camera off' }).click();
  assert.equal(await patient.evaluate(() => document.getElementById('local-video').srcObject.getVideoTracks()[0].enabled), false);
  assert.ok(await patient.getByText('Camera off').isVisible(), 'the preview says the camera is off');
  await patient.getByRole('button', { name: 'Turn camera on' }).click();
  assert.equal(await patient.evaluate(() => document.getElementById('local-video').srcObject.getVideoTracks()[0].enabled), true);

  // Chat both ways, text only (markup arrives as the characters typed).
  await patient.getByLabel('Message').fill('Hello doctor, can you see me?');
  await patient.getByLabel('Message').press('Enter');
  await doctor.locator('#chat-log .chat-text', { hasText: 'Hello doctor, can you see me?' }).waitFor();
  const markup = '<img src=x onerror="window.pwned=1"> <b>bold</b>';
  await doctor.getByLabel('Message').fill(markup);
  await doctor.getByRole('button', { name: 'Send' }).click();
  const shown = patient.locator('#chat-log .chat-text', { hasText: 'bold' });
  await shown.waitFor();
  assert.equal(await shown.textContent(), markup);
  assert.equal(await patient.locator('#chat-log img, #chat-log b').count(), 0);
  assert.equal(await patient.evaluate(() => window.pwned), undefined);
  // Each side names the author.
  assert.equal(await patient.locator('#chat-log li', { hasText: 'bold' }).locator('.chat-author').textContent(), visit.doctor.name);
  assert.equal(await doctor.locator('#chat-log li', { hasText: 'Hello doctor' }).locator('.chat-author').textContent(), visit.patient.name);

  // The doctor ends the visit with a note.
  await doctor.getByLabel(/Visit note/).fill('Contact dermatitis. Hydrocortisone 1% twice a day for a week.');
  assert.equal(await doctor.getByLabel('Completed').isChecked(), true, 'the patient came');
  await doctor.getByRole('button', { name: 'End visit' }).click();
  await doctor.waitForURL(`${url}/appointments/${visit.id}`);
  assert.ok(await doctor.locator('.details').getByText('Completed', { exact: true }).isVisible());
  assert.ok(await doctor.getByText('Hydrocortisone 1% twice a day').isVisible());

  // The patient's room closes by itself; the appointment keeps note and chat.
  await waitState(patient, 'ended');
  assert.ok(await patient.getByRole('link', { name: 'See the appointment' }).isVisible());
  await patient.goto(`${url}/appointments/${visit.id}`);
  const note = patient.getByRole('region', { name: 'Visit note' });
  assert.match(await note.textContent(), /Contact dermatitis\. Hydrocortisone 1% twice a day for a week\./);
  const transcript = patient.getByRole('region', { name: 'Chat during the visit' });
  assert.ok(await transcript.getByText('Hello doctor, can you see me?').isVisible());
  assert.equal(await transcript.getByText(markup).textContent(), markup);
  assert.equal(await patient.getByRole('link', { name: 'Join visit' }).count(), 0, 'no room after the visit');
  await checkA11y(patient, 'appointment with note and chat');

  // The doctor's appointment page has the transcript too.
  await doctor.reload();
  assert.ok(await doctor.getByRole('region', { name: 'Chat during the visit' }).getByText('Hello doctor, can you see me?').isVisible());

  // The next visit of this patient with this doctor, a day later: the doctor
  // sees this one, with its note, as the patient's history, on the
  // appointment and in the room.
  const slots = await api(url, `/doctors/${visit.doctor.id}/slots`);
  const next = slots.json.items.find((x) => Date.parse(x.start) >= visit.start + 24 * 3600_000);
  const again = await api(url, '/appointments', {
    method: 'POST', token: visit.patient.token, body: { doctor_id: visit.doctor.id, start: next.start, reason: 'Follow-up' },
  });
  assert.equal(again.status, 201, again.text);
  await doctor.goto(`${url}/appointments/${again.json.id}`);
  const history = doctor.locator('.history li', { has: doctor.locator(`a[href="/appointments/${visit.id}"]`) });
  assert.match(await history.textContent(), /Completed[\s\S]*A rash on the left arm[\s\S]*Hydrocortisone 1% twice a day/);
  await clockTo(Date.parse(next.start));
  const doctorLater = await newPage(chromium.browser, { timezoneId: 'Europe/London' });
  await loginAs(doctorLater, url, visit.doctor);
  await doctorLater.goto(`${url}/appointments/${again.json.id}/visit`);
  const inRoom = doctorLater.locator('.history li', { has: doctorLater.locator(`a[href="/appointments/${visit.id}"]`) });
  assert.match(await inRoom.textContent(), /Hydrocortisone 1% twice a day/);
  assert.ok(await doctorLater.getByText('Follow-up').isVisible(), 'the reason for this visit');
  await checkA11y(doctorLater, 'room (doctor, with history)');

  assertNoProblems(patient, 'patient');
  assertNoProblems(doctor, 'doctor');
  assertNoProblems(doctorLater, 'doctor, a day later');
  await patient.context().close();
  await doctor.context().close();
  await doctorLater.context().close();
});

test('the room before it opens, after it closes, and for nobody else', async () => {
  const { url } = server;
  // A visit more than the room's ten minutes away.
  const visit = await bookVisit(url, { doctorEmail: 'emily.carter@medimeet.test', minutesAhead: 120, serverNow: serverNow() });
  const patient = await newPage(chromium.browser);
  await loginAs(patient, url, visit.patient);
  await patient.goto(`${url}/appointments/${visit.id}`);
  assert.match(await patient.getByRole('region', { name: 'Video visit' }).textContent(), /The visit's room opens at/);
  assert.equal(await patient.getByRole('link', { name: 'Join visit' }).count(), 0);
  await patient.goto(`${url}/appointments/${visit.id}/visit`);
  assert.match(await patient.locator('main').textContent(), /The room opens at .+, 10 minutes before the visit starts/);
  assert.equal(await patient.getByRole('button', { name: 'Join the visit' }).count(), 0);
  await checkA11y(patient, 'room not open yet');

  // Anyone but its two people: the page does not exist.
  for (const who of [{ login: DEMO.admin.login, password: DEMO.admin.password },
    { login: DEMO.patient.login, password: DEMO.patient.password },
    { login: 'amara.okafor@medimeet.test', password: DEMO.doctorPassword }]) {
    const other = await newPage(chromium.browser);
    await login(other, url, who.login, who.password);
    const res = await other.goto(`${url}/appointments/${visit.id}/visit`);
    assert.equal(res.status(), 404, who.login);
    await other.context().close();
  }

  // Cancelled: the room has closed.
  const cancel = await api(url, `/appointments/${visit.id}/cancel`, {
    method: 'POST', token: visit.doctor.token, body: { reason: 'Doctor unwell' },
  });
  assert.equal(cancel.status, 200, cancel.text);
  await patient.goto(`${url}/appointments/${visit.id}/visit`);
  assert.ok(await patient.getByText("This visit's room has closed").isVisible());
  await checkA11y(patient, 'room closed');
  assertNoProblems(patient, 'patient');
  await patient.context().close();
});

test('the room at phone width, by keyboard, and accessible', async () => {
  const { url } = server;
  const visit = await bookVisit(url, { doctorEmail: 'sofia.martins@medimeet.test', serverNow: serverNow() });
  await clockTo(visit.start);
  const patient = await newPage(chromium.browser, { width: 375, height: 740 });
  await loginAs(patient, url, visit.patient);
  await patient.goto(`${url}/appointments/${visit.id}/visit`);
  await checkA11y(patient, 'room before joining');
  // The preview runs, and the camera and microphone can be chosen by name.
  await until(() => patient.evaluate(() => document.getElementById('local-video').srcObject?.getVideoTracks().length === 1),
    'the camera preview');
  for (const label of ['Camera', 'Microphone']) {
    const names = await patient.getByLabel(label, { exact: true }).locator('option').allTextContents();
    assert.ok(names.length >= 1 && !names.includes('None found'), `${label}: ${names}`);
  }

  // By keyboard: Tab reaches "Join the visit", Enter joins.
  const join_ = patient.getByRole('button', { name: 'Join the visit' });
  await join_.waitFor();
  let focused = '';
  for (let i = 0; i < 40 && focused !== 'Join the visit'; i += 1) {
    await patient.keyboard.press('Tab');
    focused = await patient.evaluate(() => document.activeElement?.textContent?.trim());
  }
  assert.equal(focused, 'Join the visit', 'Tab reaches the join button');
  await patient.keyboard.press('Enter');
  await waitState(patient, 'waiting');
  // Joining moves the focus to "Hang up", the next thing one may want.
  assert.equal(await patient.evaluate(() => document.activeElement?.textContent), 'Hang up');

  const doctor = await newPage(chromium.browser);
  await loginAs(doctor, url, visit.doctor);
  await join(doctor, url, visit.id);
  await waitState(patient, 'connected');
  await waitState(doctor, 'connected');
  await checkA11y(patient, 'room in a call (patient, phone)');
  await checkA11y(doctor, 'room in a call (doctor)');

  // Phone width: nothing scrolls sideways; the video, the controls and the
  // chat are all there, one under the other.
  const overflow = await patient.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, `the room scrolls sideways by ${overflow}px at 375px`);
  const box = async (sel) => patient.locator(sel).boundingBox();
  const video = await box('.video-remote');
  const controls = await box('.call-controls');
  const chat = await box('.visit-chat');
  assert.ok(video.width > 300 && video.width <= 375, `the video fills the width (${video.width}px)`);
  assert.ok(controls.y >= video.y + video.height - 1, 'the controls are under the video');
  assert.ok(chat.y >= controls.y + controls.height - 1, 'the chat is under the controls');
  assert.ok(await patient.getByRole('button', { name: 'Hang up' }).isVisible());

  // Hang up: the doctor is told; joining again brings the call back.
  await patient.getByRole('button', { name: 'Hang up' }).click();
  await waitState(patient, 'hung-up');
  await waitState(doctor, 'left');
  assert.match(await doctor.locator('#visit-status').textContent(), /The other person left/);
  await patient.getByRole('button', { name: 'Join again' }).click();
  await waitState(patient, 'connected');
  await waitState(doctor, 'connected');
  await mediaFlowsInto(doctor, 'doctor after the patient rejoined');

  assertNoProblems(patient, 'patient');
  assertNoProblems(doctor, 'doctor');
  await patient.context().close();
  await doctor.context().close();
});

test('a second tab takes over the visit, and the other person sees one peer', async () => {
  const { url } = server;
  const visit = await bookVisit(url, { doctorEmail: 'liam.obrien@medimeet.test', serverNow: serverNow() });
  await clockTo(visit.start);
  const first = await newPage(chromium.browser);
  await loginAs(first, url, visit.patient);
  const doctor = await newPage(chromium.browser);
  await loginAs(doctor, url, visit.doctor);
  await join(first, url, visit.id);
  await join(doctor, url, visit.id);
  await waitState(first, 'connected');
  await waitState(doctor, 'connected');

  // Every state the doctor's page shows from now on.
  await doctor.evaluate(() => {
    window.seenStates = [];
    const status = document.getElementById('visit-status');
    new MutationObserver(() => window.seenStates.push(status.getAttribute('data-state')))
      .observe(status, { attributes: true, attributeFilter: ['data-state'] });
  });
  // The same patient opens the room again in another tab (same session).
  const second = await first.context().newPage();
  second.problems = [];
  await join(second, url, visit.id);
  await waitState(first, 'replaced');
  assert.match(await first.locator('#visit-status').textContent(), /open in another window or tab/);
  assert.ok(await first.getByRole('button', { name: 'Continue here' }).isVisible());
  await waitState(second, 'connected');
  await waitState(doctor, 'connected');
  await mediaFlowsInto(doctor, 'doctor receives the second tab');
  await mediaFlowsInto(second, 'the second tab receives the doctor');
  // For the doctor the patient never left: one peer, re-entering.
  const seen = await doctor.evaluate(() => window.seenStates);
  assert.ok(!seen.includes('left'), `the doctor's states: ${seen.join(', ')}`);
  // The replaced tab does not come back by itself.
  assert.equal(await first.evaluate(() => window.medimeetVisit.pc), null);
  assert.equal(await first.evaluate(() => window.medimeetVisit.state), 'replaced');
  await first.context().close();
  await doctor.context().close();
});

test('the doctor ends a visit the patient never joined as a no-show', async () => {
  const { url } = server;
  const visit = await bookVisit(url, { doctorEmail: 'priya.raman@medimeet.test', serverNow: serverNow() });
  await clockTo(visit.start);
  const doctor = await newPage(chromium.browser);
  await loginAs(doctor, url, visit.doctor);
  await join(doctor, url, visit.id);
  await waitState(doctor, 'waiting');
  assert.equal(await doctor.locator('#visit-status').textContent(), `Waiting for ${visit.patient.name}`);
  // Nobody came: the form proposes a no-show.
  assert.equal(await doctor.getByLabel('The patient did not come (no-show)').isChecked(), true);
  await doctor.getByLabel(/Visit note/).fill('Patient did not join; left a voicemail.');
  await doctor.getByRole('button', { name: 'End visit' }).click();
  await doctor.waitForURL(`${url}/appointments/${visit.id}`);
  assert.ok(await doctor.locator('.details').getByText('No-show', { exact: true }).isVisible());
  assert.ok(await doctor.getByText('Patient did not join; left a voicemail.').isVisible());
  const after = await api(url, `/appointments/${visit.id}`, { token: visit.patient.token });
  assert.equal(after.json.status, 'no_show');
  assertNoProblems(doctor, 'doctor');
  await doctor.context().close();
});

test('a blocked camera is explained and the visit still works, receiving only', async () => {
  const { url } = server;
  // Fake devices but no automatic permission: headless Chromium denies it.
  const denying = await launch(['--use-fake-device-for-media-stream']);
  // Permission granted, but no device at all.
  const empty = await launch(['--use-fake-ui-for-media-stream']);
  try {
    const visit = await bookVisit(url, { doctorEmail: 'kenji.watanabe@medimeet.test', serverNow: serverNow() });
    await clockTo(visit.start);

    const none = await newPage(empty.browser);
    await loginAs(none, url, visit.patient);
    await none.goto(`${url}/appointments/${visit.id}/visit`);
    await none.getByText('No camera or microphone was found.', { exact: false }).waitFor();
    assert.equal(await none.getByRole('button', { name: 'Mute' }).isDisabled(), true);
    await none.context().close();

    const patient = await newPage(denying.browser);
    await loginAs(patient, url, visit.patient);
    await patient.goto(`${url}/appointments/${visit.id}/visit`);
    const message = patient.getByRole('alert').filter({ hasText: 'does not allow this page to use your camera and microphone' });
    await message.waitFor();
    assert.match(await message.textContent(), /You can still join/);
    assert.equal(await patient.getByRole('button', { name: 'Turn camera off' }).isDisabled(), true);
    await checkA11y(patient, 'room with the camera blocked');

    await patient.getByRole('button', { name: 'Join the visit' }).click();
    const doctor = await newPage(chromium.browser);
    await loginAs(doctor, url, visit.doctor);
    await join(doctor, url, visit.id);
    await waitState(patient, 'connected');
    await waitState(doctor, 'connected');
    // The patient sees and hears the doctor.
    await mediaFlowsInto(patient, 'patient without camera receives the doctor');
    // Nothing comes the other way: no video frame was sent to decode.
    const fromPatient = await received(doctor);
    assert.equal(fromPatient.framesDecoded, 0);
    // The chat works as ever.
    await patient.getByLabel('Message').fill('My camera is blocked, sorry');
    await patient.getByLabel('Message').press('Enter');
    await doctor.locator('#chat-log .chat-text', { hasText: 'My camera is blocked, sorry' }).waitFor();
    await until(async () => (await received(doctor)).state === 'connected', 'still connected');
    await patient.context().close();
    await doctor.context().close();
  } finally {
    await denying.close();
    await empty.close();
  }
});
