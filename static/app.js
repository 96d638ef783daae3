// medimeet: small progressive enhancements. Every page works without them.
(function () {
  'use strict';

  function readCookie(name) {
    var parts = document.cookie ? document.cookie.split(';') : [];
    for (var i = 0; i < parts.length; i++) {
      var kv = parts[i].trim().split('=');
      if (kv[0] === name) {
        try { return decodeURIComponent(kv.slice(1).join('=')); } catch (e) { return ''; }
      }
    }
    return '';
  }

  // 1. Times in the patient's own zone: tell the server the browser's zone.
  //    A page that showed times in another zone is reloaded once (GET pages
  //    only; the server marks them with data-tz-sensitive).
  var zone = '';
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ''; } catch (e) { zone = ''; }
  var body = document.body;
  if (zone && readCookie('medimeet_tz') !== zone) {
    document.cookie = 'medimeet_tz=' + encodeURIComponent(zone) +
      '; path=/; max-age=31536000; samesite=lax';
    if (body && body.hasAttribute('data-tz-sensitive') &&
        body.getAttribute('data-tz') !== zone &&
        readCookie('medimeet_tz') === zone) {
      var key = 'medimeet_tz_reload';
      var done = false;
      try { done = sessionStorage.getItem(key) === zone; sessionStorage.setItem(key, zone); } catch (e) { done = true; }
      if (!done) { window.location.reload(); return; }
    }
  }

  function ready(fn) {
    if (document.readyState === 'loading') {
      document.addEventListener('DOMContentLoaded', fn);
    } else {
      fn();
    }
  }

  ready(function () {
    // 2. A form with errors: move focus to its summary so it is read out.
    var summary = document.querySelector('.error-summary');
    if (summary) { summary.focus(); }

    // 3. Slot pickers: say which time is chosen next to the button.
    var pickers = document.querySelectorAll('[data-slot-picker]');
    Array.prototype.forEach.call(pickers, function (picker) {
      var out = picker.querySelector('[data-slot-choice]');
      if (!out) { return; }
      picker.addEventListener('change', function (ev) {
        var t = ev.target;
        if (t && t.name === 'start' && t.checked) {
          out.textContent = 'Selected: ' + (t.getAttribute('data-label') || t.value);
        }
      });
    });

    // 4. Working hours: show one empty interval per day, and a button to add more.
    var days = document.querySelectorAll('[data-hours-day]');
    Array.prototype.forEach.call(days, function (day) {
      var rows = day.querySelectorAll('[data-hours-row]');
      var blanks = [];
      Array.prototype.forEach.call(rows, function (row) {
        var inputs = row.querySelectorAll('input');
        var empty = Array.prototype.every.call(inputs, function (i) { return i.value === ''; });
        if (empty && !row.querySelector('[aria-invalid="true"]')) { blanks.push(row); }
      });
      blanks.slice(1).forEach(function (row) { row.hidden = true; });
      var add = day.querySelector('[data-hours-add]');
      if (!add) { return; }
      add.hidden = blanks.length < 2;
      add.addEventListener('click', function () {
        var next = day.querySelector('[data-hours-row][hidden]');
        if (next) {
          next.hidden = false;
          var first = next.querySelector('input');
          if (first) { first.focus(); }
        }
        add.hidden = !day.querySelector('[data-hours-row][hidden]');
      });
    });
  });
})();

// The calendar card's "Copy address" button (shown only where the script
// runs; without it the address is selected by hand).
(function () {
  var buttons = document.querySelectorAll('[data-copy]');
  Array.prototype.forEach.call(buttons, function (button) {
    var input = document.getElementById(button.getAttribute('data-copy'));
    var status = document.querySelector('[data-copy-status]');
    if (!input) return;
    button.hidden = false;
    button.addEventListener('click', function () {
      input.focus();
      input.select();
      var done = function () { if (status) status.textContent = 'Address copied.'; };
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(input.value).then(done, function () {
          if (status) status.textContent = 'Select the address and copy it.';
        });
      } else if (document.execCommand && document.execCommand('copy')) {
        done();
      }
    });
  });
  var urls = document.querySelectorAll('[data-calendar-url]');
  Array.prototype.forEach.call(urls, function (input) {
    input.addEventListener('focus', function () { input.select(); });
  });
})();
