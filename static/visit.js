// medimeet: the video visit's room (/appointments/{id}/visit).
//
// The contract is docs/visit.md. In short: the page joins the room's
// WebSocket (same origin, the session cookie); the server says who we are
// (`welcome`) and relays offers, answers, ICE candidates and chat between the
// visit's two people. The doctor's page makes every offer (a fresh
// RTCPeerConnection whenever the patient is there; an ICE restart, then a
// fresh connection, when the call fails); the patient's page only answers.
// Media goes browser to browser, or through the clinic's own TURN relay.
//
// No framework, no inline script (the pages' CSP): this file is embedded in
// the binary like app.js. Text from other people is always set with
// textContent, never parsed as HTML.
(function () {
  'use strict';

  // A room that is not open yet: reload when it opens.
  var opens = document.querySelector('[data-opens-at]');
  if (opens) {
    var wait = Date.parse(opens.getAttribute('data-opens-at')) - Date.now();
    if (wait > 0 && wait < 12 * 3600 * 1000) {
      setTimeout(function () { window.location.reload(); }, wait + 1000);
    }
  }

  var root = document.getElementById('visit-room');
  if (!root) { return; }

  var appointment = root.getAttribute('data-appointment');
  var csrf = root.getAttribute('data-csrf') || '';
  var role = root.getAttribute('data-role'); // confirmed by the server's `welcome`
  var peerName = root.getAttribute('data-peer-name') || 'the other person';
  // Media only through the TURN relay: the clinic's setting, or `?relay=1`
  // on the page's address (the TURN test uses it; harmless otherwise).
  var relayOnly = root.getAttribute('data-relay-only') === 'true' ||
    new URLSearchParams(window.location.search).get('relay') === '1';

  function $(id) { return document.getElementById(id); }
  var statusEl = $('visit-status');
  var localVideo = $('local-video');
  var remoteVideo = $('remote-video');
  var remotePlaceholder = $('remote-placeholder');
  var mediaMessage = $('media-message');
  var joinButton = $('join');
  var micButton = $('toggle-mic');
  var cameraButton = $('toggle-camera');
  var hangUpButton = $('hang-up');
  var retryButton = $('retry-media');
  var cameraSelect = $('camera-select');
  var micSelect = $('mic-select');
  var chatLog = $('chat-log');
  var chatForm = $('chat-form');
  var chatText = $('chat-text');
  var chatError = $('chat-error');
  var endForm = $('end-form');
  var endError = $('end-error');
  var endedBox = $('visit-ended');

  var localStream = null;   // camera and/or microphone; null without either
  var micOn = true;
  var cameraOn = true;
  var pc = null;            // the current RTCPeerConnection
  var remoteStream = null;
  var pendingIce = [];      // candidates that came before the remote description
  var ws = null;
  var iceServers = [];
  var joined = false;       // pressed Join and not hung up
  var stopped = false;      // replaced, ended: no reconnecting
  var everConnected = false;
  var peerPresent = false;
  var patientSeen = root.getAttribute('data-patient-seen') === 'true';
  var reconnectDelay = 1000;
  var reconnectTimer = null;
  var recoverTimer = null;
  var restartTried = false;
  var freshDelay = 1000;
  var signals = Promise.resolve(); // offers, answers and candidates, in order
  var state = 'idle';
  var shown = {};           // chat message ids already on the page
  var lastSent = '';

  // Test hook (tests/browser/visit*.test.mjs): the current RTCPeerConnection,
  // for getStats(), and the state shown to the person. Read-only; the page
  // does not use it.
  window.medimeetVisit = {
    get pc() { return pc; },
    get state() { return state; },
  };

  // ------------------------------------------------------------------
  // The connection state, in words, in the page's live region.

  function setState(next, words) {
    state = next;
    statusEl.setAttribute('data-state', next);
    statusEl.textContent = words || {
      idle: 'You are not in the visit yet. Check your camera and microphone, then join.',
      joining: 'Joining the visit…',
      waiting: 'Waiting for ' + peerName,
      connecting: 'Connecting to ' + peerName + '…',
      connected: 'Connected with ' + peerName,
      reconnecting: 'Reconnecting…',
      left: 'The other person left: ' + peerName + ' is no longer in the visit.',
      'hung-up': 'You left the visit. You can join again while the room is open.',
      replaced: 'This visit is now open in another window or tab, so it stopped here.',
      ended: 'This visit has ended.',
    }[next] || next;
  }

  // ------------------------------------------------------------------
  // Camera and microphone.

  function trackOf(kind) {
    if (!localStream) { return null; }
    var tracks = kind === 'audio' ? localStream.getAudioTracks() : localStream.getVideoTracks();
    return tracks[0] || null;
  }

  function showMediaMessage(text) {
    mediaMessage.textContent = text;
    mediaMessage.hidden = !text;
  }

  function wanted(kind) {
    var select = kind === 'audio' ? micSelect : cameraSelect;
    return select.value ? { deviceId: { exact: select.value } } : true;
  }

  async function getMedia(constraints) {
    return navigator.mediaDevices.getUserMedia(constraints);
  }

  // Opens the chosen camera and microphone (or what there is of them) and
  // explains what is missing. Never throws: a visit can be joined without.
  async function openMedia() {
    if (localStream) { localStream.getTracks().forEach(function (t) { t.stop(); }); }
    localStream = null;
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      showMediaMessage('This browser cannot use a camera or microphone on this page. ' +
        'You can still join to see and hear ' + peerName + ' and to chat.');
      return;
    }
    var message = '';
    try {
      localStream = await getMedia({ audio: wanted('audio'), video: wanted('video') });
    } catch (e) {
      if (e.name === 'NotAllowedError' || e.name === 'SecurityError') {
        message = 'Your browser does not allow this page to use your camera and microphone. ' +
          'You can still join: you will see and hear ' + peerName + ' and can chat, but they ' +
          'will not see or hear you. To change that, allow the camera and microphone for this ' +
          'site in your browser\'s settings, then press “Try camera and microphone again”.';
      } else if (e.name === 'NotReadableError' || e.name === 'AbortError') {
        message = 'Your camera or microphone is in use by another program. Close it, then ' +
          'press “Try camera and microphone again”. You can still join without them.';
      } else {
        // No such device (NotFoundError), or a chosen one is gone: try each alone.
        localStream = await getMedia({ audio: wanted('audio') }).catch(function () { return null; });
        if (localStream) {
          message = 'No camera was found: you will join with your microphone only.';
        } else {
          localStream = await getMedia({ video: wanted('video') }).catch(function () { return null; });
          message = localStream
            ? 'No microphone was found: ' + peerName + ' will see you but not hear you. Use the chat to talk.'
            : 'No camera or microphone was found. You can still join to see and hear ' +
              peerName + ' and to chat.';
        }
      }
    }
    showMediaMessage(message);
    localVideo.srcObject = localStream;
    applyToggles();
    await listDevices();
    useLocalTracks();
  }

  // Fills the camera and microphone choices (names are known once allowed).
  async function listDevices() {
    var devices = [];
    try { devices = await navigator.mediaDevices.enumerateDevices(); } catch (e) { devices = []; }
    fill(cameraSelect, devices, 'videoinput', 'Camera', trackOf('video'));
    fill(micSelect, devices, 'audioinput', 'Microphone', trackOf('audio'));
  }

  function fill(select, devices, kind, noun, track) {
    var current = track && track.getSettings ? track.getSettings().deviceId : select.value;
    var mine = devices.filter(function (d) { return d.kind === kind && d.deviceId; });
    select.textContent = '';
    mine.forEach(function (d, i) {
      var option = document.createElement('option');
      option.value = d.deviceId;
      option.textContent = d.label || noun + ' ' + (i + 1);
      option.selected = d.deviceId === current;
      select.appendChild(option);
    });
    if (!mine.length) {
      var none = document.createElement('option');
      none.value = '';
      none.textContent = 'None found';
      select.appendChild(none);
    }
    select.disabled = !mine.length;
  }

  function applyToggles() {
    var audio = trackOf('audio');
    var video = trackOf('video');
    if (audio) { audio.enabled = micOn; }
    if (video) { video.enabled = cameraOn; }
    micButton.textContent = micOn ? 'Mute' : 'Unmute';
    micButton.disabled = !audio;
    cameraButton.textContent = cameraOn ? 'Turn camera off' : 'Turn camera on';
    cameraButton.disabled = !video;
    root.classList.toggle('is-camera-off', !video || !cameraOn);
  }

  // Puts the current camera and microphone on the call (no renegotiation:
  // every transceiver sends, with or without a track).
  function useLocalTracks() {
    if (!pc) { return; }
    pc.getTransceivers().forEach(function (t) {
      var kind = t.receiver.track.kind;
      if (t.currentDirection !== 'stopped') {
        t.sender.replaceTrack(trackOf(kind)).catch(function () {});
      }
    });
  }

  // ------------------------------------------------------------------
  // The peer connection.

  function closePeer() {
    clearTimeout(recoverTimer);
    if (pc) {
      pc.onicecandidate = null;
      pc.ontrack = null;
      pc.onconnectionstatechange = null;
      pc.close();
    }
    pc = null;
    pendingIce = [];
    remoteVideo.srcObject = null;
    remotePlaceholder.hidden = false;
  }

  function newPeer() {
    closePeer();
    var conn = new RTCPeerConnection({
      iceServers: iceServers,
      iceTransportPolicy: relayOnly ? 'relay' : 'all',
    });
    pc = conn;
    remoteStream = new MediaStream();
    remoteVideo.srcObject = remoteStream;
    conn.onicecandidate = function (e) {
      if (pc === conn && e.candidate) { send({ type: 'ice', candidate: e.candidate.toJSON() }); }
    };
    conn.ontrack = function (e) {
      if (pc !== conn) { return; }
      remoteStream.addTrack(e.track);
      if (e.track.kind === 'video') {
        e.track.onunmute = function () { remotePlaceholder.hidden = true; };
        e.track.onmute = function () { remotePlaceholder.hidden = false; };
      }
      var playing = remoteVideo.play();
      if (playing) { playing.catch(function () {}); }
    };
    conn.onconnectionstatechange = function () { peerStateChanged(conn); };
    return conn;
  }

  function peerStateChanged(conn) {
    if (pc !== conn || stopped) { return; }
    switch (conn.connectionState) {
      case 'connected':
        clearTimeout(recoverTimer);
        restartTried = false;
        freshDelay = 1000;
        everConnected = true;
        setState('connected');
        break;
      case 'disconnected':
        // Often comes back by itself; if not, the doctor restarts ICE.
        setState('reconnecting');
        if (role === 'doctor') { watch(5000); }
        break;
      case 'failed':
        setState('reconnecting');
        if (role === 'doctor') { recover(); }
        break;
      default:
        break;
    }
  }

  // Doctor: if the call is not connected within `ms`, repair it.
  function watch(ms) {
    clearTimeout(recoverTimer);
    recoverTimer = setTimeout(function () {
      if (pc && pc.connectionState !== 'connected') { recover(); }
    }, ms);
  }

  // Doctor: an ICE restart first; if that does not help, a fresh connection
  // after a growing pause.
  function recover() {
    clearTimeout(recoverTimer);
    if (!joined || stopped || !peerPresent || !socketOpen()) { return; }
    if (!restartTried && pc) {
      restartTried = true;
      queue(function () { return makeOffer(true); });
    } else {
      restartTried = false;
      var delay = freshDelay;
      freshDelay = Math.min(freshDelay * 2, 30000);
      recoverTimer = setTimeout(function () {
        queue(function () { return makeOffer(false); });
      }, delay);
    }
  }

  // Doctor: an offer on a fresh connection, or an ICE restart on this one.
  async function makeOffer(iceRestart) {
    if (!joined || stopped || !peerPresent) { return; }
    var conn = iceRestart && pc ? pc : newPeer();
    if (!iceRestart) {
      ['audio', 'video'].forEach(function (kind) {
        conn.addTransceiver(trackOf(kind) || kind, { direction: 'sendrecv' });
      });
    }
    if (!iceRestart) {
      // A new connection interrupts the call there was, if any.
      setState(everConnected ? 'reconnecting' : 'connecting');
    }
    var offer = await conn.createOffer(iceRestart ? { iceRestart: true } : undefined);
    if (pc !== conn) { return; }
    await conn.setLocalDescription(offer);
    send({ type: 'offer', sdp: conn.localDescription.sdp });
    watch(15000);
  }

  function fingerprint(sdp) {
    var m = /a=fingerprint:[^\r\n]+/.exec(sdp || '');
    return m ? m[0] : '';
  }

  // Patient: answer an offer, on the current connection when it is the same
  // one renegotiating (an ICE restart), on a fresh one otherwise.
  async function takeOffer(sdp) {
    if (role !== 'patient' || !joined || stopped) { return; }
    if (pc && pc.remoteDescription && pc.remoteDescription.sdp === sdp) { return; } // a repeat
    var conn = pc;
    if (!conn || conn.signalingState !== 'stable' ||
        fingerprint(sdp) !== fingerprint(conn.remoteDescription && conn.remoteDescription.sdp)) {
      conn = newPeer();
    }
    if (!everConnected) { setState('connecting'); }
    await conn.setRemoteDescription({ type: 'offer', sdp: sdp });
    conn.getTransceivers().forEach(function (t) {
      t.direction = 'sendrecv';
      t.sender.replaceTrack(trackOf(t.receiver.track.kind)).catch(function () {});
    });
    var answer = await conn.createAnswer();
    if (pc !== conn) { return; }
    await conn.setLocalDescription(answer);
    send({ type: 'answer', sdp: conn.localDescription.sdp });
    await addPendingIce(conn);
  }

  // Doctor: the patient's answer to the offer now outstanding.
  async function takeAnswer(sdp) {
    if (role !== 'doctor' || !pc || pc.signalingState !== 'have-local-offer') { return; }
    var conn = pc;
    await conn.setRemoteDescription({ type: 'answer', sdp: sdp });
    await addPendingIce(conn);
  }

  async function takeCandidate(candidate) {
    if (!candidate) { return; }
    if (!pc || !pc.remoteDescription) { pendingIce.push(candidate); return; }
    // One from a connection already replaced fails harmlessly.
    await pc.addIceCandidate(candidate).catch(function () {});
  }

  async function addPendingIce(conn) {
    var list = pendingIce;
    pendingIce = [];
    for (var i = 0; i < list.length; i++) {
      await conn.addIceCandidate(list[i]).catch(function () {});
    }
  }

  function queue(step) {
    signals = signals.then(step).catch(function (e) {
      if (window.console) { window.console.warn('visit: signaling step failed', e); }
    });
  }

  // ------------------------------------------------------------------
  // The signaling socket.

  function socketOpen() { return ws && ws.readyState === WebSocket.OPEN; }

  function send(frame) {
    if (!socketOpen()) { return false; }
    ws.send(JSON.stringify(frame));
    return true;
  }

  function connect() {
    clearTimeout(reconnectTimer);
    var scheme = window.location.protocol === 'https:' ? 'wss://' : 'ws://';
    var sock = new WebSocket(scheme + window.location.host + '/api/v1/appointments/' +
      encodeURIComponent(appointment) + '/visit/signal');
    ws = sock;
    sock.onopen = function () { if (ws === sock) { reconnectDelay = 1000; } };
    sock.onmessage = function (e) {
      if (ws !== sock) { return; }
      var frame;
      try { frame = JSON.parse(e.data); } catch (err) { return; }
      if (frame && typeof frame.type === 'string') { onFrame(frame); }
    };
    sock.onclose = function (e) {
      if (ws !== sock) { return; }
      ws = null;
      socketClosed(e.code);
    };
  }

  function socketClosed(code) {
    if (code === 4001) { return replaced(); }
    if (code === 4002) { return ended(); }
    if (!joined || stopped || code === 1000) { return; }
    // Unexpected: the media may still flow; the socket comes back by itself.
    if (!pc || pc.connectionState !== 'connected') { setState('reconnecting'); }
    var delay = reconnectDelay + Math.floor(Math.random() * 500);
    reconnectDelay = Math.min(reconnectDelay * 2, 30000);
    reconnectTimer = setTimeout(reconnect, delay);
  }

  // Before entering again, ask whether there is still a room to enter.
  async function reconnect() {
    if (!joined || stopped) { return; }
    try {
      var res = await fetch('/api/v1/appointments/' + encodeURIComponent(appointment) + '/visit',
        { credentials: 'same-origin', headers: { Accept: 'application/json' } });
      if (res.status === 404) { return ended(); }
      if (res.status === 401) {
        joined = false;
        stopped = true;
        closePeer();
        showInCall(false);
        joinButton.hidden = true;
        return setState('ended', 'You have been signed out. Log in again to rejoin the visit.');
      }
      if (res.ok) {
        var room = await res.json();
        if (room.state === 'closed') { return ended(); }
      }
    } catch (e) {
      // Offline: try the socket anyway; it fails and backs off.
    }
    connect();
  }

  function onFrame(f) {
    switch (f.type) {
      case 'welcome':
        iceServers = Array.isArray(f.ice_servers) ? f.ice_servers : [];
        if (f.ice_transport_policy === 'relay') { relayOnly = true; }
        if (f.you) { role = f.you; }
        if (f.peer_name) { peerName = f.peer_name; }
        peerPresent = !!f.peer_present;
        if (peerPresent) { peerArrived(); } else { closePeer(); setState('waiting'); }
        catchUpChat();
        break;
      case 'peer_joined':
        peerPresent = true;
        peerArrived();
        break;
      case 'peer_left':
        peerPresent = false;
        queue(function () { closePeer(); });
        setState('left');
        break;
      case 'offer':
        if (typeof f.sdp === 'string') { queue(function () { return takeOffer(f.sdp); }); }
        break;
      case 'answer':
        if (typeof f.sdp === 'string') { queue(function () { return takeAnswer(f.sdp); }); }
        break;
      case 'ice':
        queue(function () { return takeCandidate(f.candidate); });
        break;
      case 'chat':
        showMessage(f);
        if (f.author === role && chatText.value === lastSent) { lastSent = ''; }
        break;
      case 'visit_state':
        if (f.status === 'completed' || f.status === 'no_show' || f.status === 'cancelled') { ended(); }
        break;
      case 'error':
        chatError.textContent = 'Your message was not sent: ' + (f.detail || f.code || 'refused') + '.';
        if (lastSent && !chatText.value) { chatText.value = lastSent; }
        break;
      default:
        break;
    }
  }

  // The other person is in the room: the doctor calls, the patient waits for
  // the offer.
  function peerArrived() {
    if (role === 'doctor') {
      setPatientSeen();
      restartTried = false;
      queue(function () { return makeOffer(false); });
    } else {
      setState(everConnected ? 'reconnecting' : 'connecting');
    }
  }

  // ------------------------------------------------------------------
  // Join, hang up, replaced, ended.

  function showInCall(inCall) {
    joinButton.hidden = inCall;
    hangUpButton.hidden = !inCall;
    root.classList.toggle('is-in-call', inCall);
  }

  function join() {
    if (stopped && state !== 'replaced') { return; }
    stopped = false;
    joined = true;
    everConnected = false;
    reconnectDelay = 1000;
    showInCall(true);
    setState('joining');
    connect();
    hangUpButton.focus();
  }

  function hangUp() {
    joined = false;
    send({ type: 'leave' });
    clearTimeout(reconnectTimer);
    closePeer();
    showInCall(false);
    joinButton.textContent = 'Join again';
    setState('hung-up');
    joinButton.focus();
  }

  function replaced() {
    joined = false;
    stopped = true;
    closePeer();
    showInCall(false);
    joinButton.textContent = 'Continue here';
    setState('replaced');
  }

  function ended() {
    if (state === 'ended') { return; }
    joined = false;
    stopped = true;
    clearTimeout(reconnectTimer);
    if (socketOpen()) { ws.close(1000); }
    ws = null;
    closePeer();
    if (localStream) { localStream.getTracks().forEach(function (t) { t.stop(); }); }
    showInCall(false);
    joinButton.hidden = true;
    root.classList.add('is-ended');
    if (endForm) { endForm.hidden = true; }
    if (endedBox) { endedBox.hidden = false; }
    setState('ended');
  }

  // ------------------------------------------------------------------
  // Chat.

  function showMessage(m) {
    if (typeof m.id !== 'number' || shown[m.id]) { return; }
    shown[m.id] = true;
    var item = document.createElement('li');
    item.className = 'chat-msg' + (m.author === role ? ' chat-mine' : '');
    item.setAttribute('data-id', String(m.id));
    var meta = document.createElement('p');
    meta.className = 'chat-meta';
    var who = document.createElement('span');
    who.className = 'chat-author';
    who.textContent = m.author === role ? 'You' : (m.author_name || peerName);
    meta.appendChild(who);
    // RFC 3339 as documented; seconds since the epoch also read right.
    var at = new Date(typeof m.at === 'number' ? m.at * 1000 : m.at);
    if (!isNaN(at.getTime())) {
      var time = document.createElement('time');
      time.dateTime = at.toISOString();
      time.textContent = at.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
      meta.appendChild(document.createTextNode(' '));
      meta.appendChild(time);
    }
    var text = document.createElement('p');
    text.className = 'chat-text';
    text.textContent = m.text;
    item.appendChild(meta);
    item.appendChild(text);
    // In id order, whatever order they came in.
    var after = null;
    Array.prototype.some.call(chatLog.children, function (li) {
      if (Number(li.getAttribute('data-id')) > m.id) { after = li; return true; }
      return false;
    });
    chatLog.insertBefore(item, after);
    var empty = $('chat-empty');
    if (empty) { empty.hidden = true; }
    chatLog.scrollTop = chatLog.scrollHeight;
  }

  // Messages sent while this page was away (before it loaded, or while its
  // socket reconnected): the whole chat, page by page; repeats are dropped.
  async function catchUpChat() {
    var path = '/api/v1/appointments/' + encodeURIComponent(appointment) + '/messages?limit=200';
    for (var cursor = null, page = 0; page < 50; page++) {
      var res = await fetch(path + (cursor ? '&cursor=' + encodeURIComponent(cursor) : ''),
        { credentials: 'same-origin', headers: { Accept: 'application/json' } }).catch(function () { return null; });
      if (!res || !res.ok) { return; }
      var body = await res.json().catch(function () { return null; });
      (body && Array.isArray(body.items) ? body.items : []).forEach(showMessage);
      cursor = body && body.next_cursor;
      if (!cursor) { return; }
    }
  }

  async function sendChat(e) {
    e.preventDefault();
    var text = chatText.value.trim();
    chatError.textContent = '';
    if (!text) { chatText.focus(); return; }
    lastSent = text;
    if (send({ type: 'chat', text: text })) {
      chatText.value = '';
      return;
    }
    // No socket at the moment: the same message through the API.
    try {
      var m = await api('POST', '/messages', { text: text });
      chatText.value = '';
      if (m) { showMessage(m); }
    } catch (err) {
      chatError.textContent = 'Your message was not sent: ' + err.message;
    }
  }

  // ------------------------------------------------------------------
  // The doctor ends the visit: the note, then completed or no-show.

  async function api(method, path, body) {
    var headers = { Accept: 'application/json', 'X-CSRF-Token': csrf };
    if (body) { headers['Content-Type'] = 'application/json'; }
    var res = await fetch('/api/v1/appointments/' + encodeURIComponent(appointment) + path, {
      method: method,
      credentials: 'same-origin',
      headers: headers,
      body: body ? JSON.stringify(body) : undefined,
    });
    if (!res.ok) {
      var problem = await res.json().catch(function () { return null; });
      throw new Error((problem && (problem.detail || problem.title)) || 'the server answered ' + res.status);
    }
    return res.status === 204 ? null : res.json().catch(function () { return null; });
  }

  function setPatientSeen() {
    if (patientSeen || !endForm) { patientSeen = true; return; }
    patientSeen = true;
    var completed = endForm.querySelector('input[name="outcome"][value="completed"]');
    if (completed) { completed.checked = true; }
  }

  async function endVisit(e) {
    e.preventDefault();
    var button = endForm.querySelector('button[type="submit"]');
    var note = $('end-note').value.trim();
    var outcome = endForm.querySelector('input[name="outcome"]:checked');
    endError.textContent = '';
    button.disabled = true;
    try {
      if (note) { await api('PUT', '/note', { body: note }); }
      await api('POST', outcome && outcome.value === 'no_show' ? '/no-show' : '/complete');
      joined = false;
      stopped = true;
      send({ type: 'leave' });
      window.location.assign('/appointments/' + encodeURIComponent(appointment));
    } catch (err) {
      endError.textContent = 'The visit was not ended: ' + err.message;
      button.disabled = false;
    }
  }

  // ------------------------------------------------------------------
  // Wiring.

  Array.prototype.forEach.call(chatLog.querySelectorAll('li[data-id]'), function (li) {
    shown[Number(li.getAttribute('data-id'))] = true;
  });

  joinButton.addEventListener('click', join);
  hangUpButton.addEventListener('click', hangUp);
  micButton.addEventListener('click', function () { micOn = !micOn; applyToggles(); });
  cameraButton.addEventListener('click', function () { cameraOn = !cameraOn; applyToggles(); });
  retryButton.addEventListener('click', function () { openMedia(); });
  cameraSelect.addEventListener('change', function () { openMedia(); });
  micSelect.addEventListener('change', function () { openMedia(); });
  chatForm.addEventListener('submit', sendChat);
  if (endForm) { endForm.addEventListener('submit', endVisit); }
  window.addEventListener('pagehide', function () {
    if (joined) { send({ type: 'leave' }); }
  });

  joinButton.hidden = false;
  joinButton.disabled = false;
  setState('idle');
  openMedia();
})();
