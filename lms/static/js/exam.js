// The attempt page (exams/take.html): one question at a time, autosave through an outbox, the
// server's clock, and the hand-in. Without this file the page is a plain form that still works.
//
// Every change gets the next per-attempt sequence number and waits in the outbox (memory and
// sessionStorage, never localStorage or cookies) until the server acknowledges it; saves are
// debounced (about 2 s) and retried with backoff on network errors and 503. The outbox is
// cleared on hand-in and on logout (app.js). The remaining time always comes from the server:
// the page counts down locally and resyncs from every save and from a /state poll each minute.
(function () {
  "use strict";
  var DEBOUNCE_MS = 2000;
  var POLL_MS = 60000;
  var MAX_BACKOFF_MS = 30000;
  var KEY_PREFIX = "exam-outbox-";

  function clockNow() {
    return window.performance && performance.now ? performance.now() : Date.now();
  }

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function clock(seconds) {
    var h = Math.floor(seconds / 3600), m = Math.floor(seconds % 3600 / 60), s = seconds % 60;
    return h > 0 ? h + ":" + pad(m) + ":" + pad(s) : pad(m) + ":" + pad(s);
  }

  function readStore(key) {
    try {
      var raw = window.sessionStorage.getItem(key);
      var data = raw ? JSON.parse(raw) : null;
      return data && Array.isArray(data.entries) ? data.entries : [];
    } catch (e) {
      return [];
    }
  }

  function writeStore(key, entries) {
    try {
      if (entries.length) {
        window.sessionStorage.setItem(key, JSON.stringify({ entries: entries }));
      } else {
        window.sessionStorage.removeItem(key);
      }
    } catch (e) { /* storage disabled or full: the outbox still lives in memory */ }
  }

  // ---------------------------------------------------------------- answers in the form

  function inputs(q, name) {
    return Array.prototype.slice.call(q.querySelectorAll('[name="' + name + '"]'));
  }

  function readResponse(q) {
    var type = q.getAttribute("data-type");
    var name = "q" + q.getAttribute("data-position");
    if (type === "single_choice" || type === "multiple_choice") {
      var chosen = inputs(q, name).filter(function (i) { return i.checked; })
        .map(function (i) { return parseInt(i.value, 10); });
      return chosen.length ? chosen : null;
    }
    if (type === "true_false") {
      var tf = inputs(q, name).filter(function (i) { return i.checked; })[0];
      return tf ? tf.value === "true" : null;
    }
    if (type === "fill_blank") {
      var blanks = parseInt(q.getAttribute("data-blanks"), 10) || 0;
      var out = [];
      for (var b = 0; b < blanks; b++) {
        var el = inputs(q, name + "_b" + b)[0];
        out.push(el ? el.value : "");
      }
      return out;
    }
    var text = inputs(q, name)[0];
    return text ? text.value : "";
  }

  function readFlag(q) {
    var box = inputs(q, "f" + q.getAttribute("data-position"))[0];
    return !!(box && box.checked);
  }

  function applyResponse(q, response, flagged) {
    var type = q.getAttribute("data-type");
    var name = "q" + q.getAttribute("data-position");
    if (type === "single_choice" || type === "multiple_choice") {
      var wanted = Array.isArray(response) ? response.map(String) : [];
      inputs(q, name).forEach(function (i) { i.checked = wanted.indexOf(i.value) >= 0; });
    } else if (type === "true_false") {
      inputs(q, name).forEach(function (i) {
        i.checked = response !== null && i.value === String(response);
      });
    } else if (type === "fill_blank") {
      (Array.isArray(response) ? response : []).forEach(function (v, b) {
        var el = inputs(q, name + "_b" + b)[0];
        if (el && typeof v === "string") { el.value = v; }
      });
    } else {
      var text = inputs(q, name)[0];
      if (text && typeof response === "string") { text.value = response; }
    }
    var box = inputs(q, "f" + q.getAttribute("data-position"))[0];
    if (box) { box.checked = !!flagged; }
  }

  function isAnswered(q) {
    var r = readResponse(q);
    if (r === null) { return false; }
    if (Array.isArray(r)) {
      return r.some(function (v) { return typeof v === "number" || String(v).trim() !== ""; });
    }
    return typeof r === "boolean" || String(r).trim() !== "";
  }

  // ---------------------------------------------------------------- the page

  function ExamPage(form) {
    this.form = form;
    this.url = {
      save: form.getAttribute("data-save-url"), state: form.getAttribute("data-state-url"),
      submit: form.getAttribute("data-submit-url"), review: form.getAttribute("data-review-url")
    };
    this.csrf = form.getAttribute("data-csrf");
    this.key = KEY_PREFIX + form.getAttribute("data-attempt");
    this.seq = parseInt(form.getAttribute("data-last-seq"), 10) || 0;
    this.outbox = {};
    this.last = {};
    this.inFlight = false;
    this.failures = 0;
    this.stopped = false;
    this.submitting = false;
    this.timer = null;
    this.status = document.querySelector("[data-status]");
    this.alertBox = document.querySelector("[data-alert]");
    this.timerBox = document.querySelector("[data-timer]");
    this.questions = Array.prototype.slice.call(form.querySelectorAll(".q[data-position]"));
    this.pages = Array.prototype.slice.call(form.querySelectorAll("section.q"));
    var remaining = form.getAttribute("data-remaining");
    this.endAt = remaining === "" ? null : clockNow() + parseInt(remaining, 10) * 1000;
    this.warned = { five: false, one: false };
  }

  ExamPage.prototype.msg = function (name, time) {
    var text = this.form.getAttribute("data-msg-" + name) || "";
    return time === undefined ? text : text.replace("{time}", time);
  };

  ExamPage.prototype.setStatus = function (text, bad) {
    if (!this.status) { return; }
    this.status.textContent = text;
    this.status.classList.toggle("bad", !!bad);
  };

  ExamPage.prototype.showAlert = function (text) {
    if (!this.alertBox) { return; }
    this.alertBox.textContent = text;
    this.alertBox.hidden = !text;
  };

  ExamPage.prototype.question = function (position) {
    return this.form.querySelector('.q[data-position="' + position + '"]');
  };

  ExamPage.prototype.snapshot = function (q) {
    return JSON.stringify([readResponse(q), readFlag(q)]);
  };

  ExamPage.prototype.entries = function () {
    var self = this;
    return Object.keys(this.outbox).map(function (k) { return self.outbox[k]; });
  };

  ExamPage.prototype.persist = function () {
    writeStore(this.key, this.stopped ? [] : this.entries());
  };

  // Unsent answers of an earlier visit (reload, crash): put back into the inputs and re-sent.
  // Entries the server has already seen a newer save for (seq <= last_seq) are dropped.
  ExamPage.prototype.restore = function () {
    var self = this, serverSeq = this.seq;
    readStore(this.key).forEach(function (e) {
      if (!e || typeof e.seq !== "number" || e.seq <= serverSeq) { return; }
      var q = self.question(e.position);
      if (!q) { return; }
      applyResponse(q, e.response, e.flagged);
      self.outbox[e.position] = e;
      self.seq = Math.max(self.seq, e.seq);
    });
    this.questions.forEach(function (q) {
      self.last[q.getAttribute("data-position")] = self.snapshot(q);
    });
    this.persist();
    if (this.entries().length) { this.schedule(0); }
  };

  ExamPage.prototype.record = function (q) {
    if (this.stopped) { return; }
    var position = q.getAttribute("data-position");
    var snap = this.snapshot(q);
    this.refreshNav(q);
    if (this.last[position] === snap) { return; }
    this.last[position] = snap;
    this.seq += 1;
    this.outbox[position] = {
      position: parseInt(position, 10), seq: this.seq,
      response: readResponse(q), flagged: readFlag(q)
    };
    this.persist();
    if (!this.inFlight && this.failures === 0) { this.setStatus(this.msg("saving")); }
    this.schedule(DEBOUNCE_MS);
  };

  ExamPage.prototype.schedule = function (ms) {
    var self = this;
    if (this.timer) { window.clearTimeout(this.timer); }
    this.timer = window.setTimeout(function () { self.timer = null; self.flush(); }, ms);
  };

  ExamPage.prototype.retry = function (retryAfter, text) {
    this.failures += 1;
    var wait = Math.min(DEBOUNCE_MS * Math.pow(2, this.failures - 1), MAX_BACKOFF_MS);
    var hinted = parseInt(retryAfter || "", 10);
    if (hinted > 0) { wait = Math.max(wait, Math.min(hinted * 1000, MAX_BACKOFF_MS)); }
    this.setStatus(text || this.msg("retrying"), true);
    this.schedule(wait);
  };

  ExamPage.prototype.flush = function () {
    var self = this;
    var sent = this.entries();
    if (this.inFlight || this.stopped || !sent.length) { return; }
    this.inFlight = true;
    this.setStatus(this.msg("saving"));
    this.post(this.url.save, { answers: sent }, function (status, body, retryAfter) {
      self.inFlight = false;
      if (status === 200 && body && Array.isArray(body.saved)) {
        sent.forEach(function (e) {
          var now = self.outbox[e.position];
          if (now && now.seq <= e.seq) { delete self.outbox[e.position]; }
        });
        self.failures = 0;
        self.persist();
        self.sync(body.remaining_seconds);
        var d = new Date();
        self.setStatus(self.msg("saved", pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" +
                                pad(d.getSeconds())));
        if (self.entries().length) { self.schedule(DEBOUNCE_MS); }
      } else if (status === 409) {
        self.finished(body);
      } else if (status === 400 && body && body.error) {
        // The server refused these values; sending them again cannot help.
        sent.forEach(function (e) {
          var now = self.outbox[e.position];
          if (now && now.seq <= e.seq) { delete self.outbox[e.position]; }
        });
        self.persist();
        self.setStatus(body.error, true);
      } else if (status === 400 || status === 401 || status === 403 || status === 404) {
        self.retry(null, self.msg("login"));
      } else {
        self.retry(retryAfter);
      }
    });
  };

  // JSON POST; calls back with (status, parsed body or null, Retry-After); 0 = no answer.
  ExamPage.prototype.post = function (url, payload, done) {
    fetch(url, {
      method: "POST", credentials: "same-origin", redirect: "manual",
      headers: { "Content-Type": "application/json", "Accept": "application/json",
                 "X-CSRFToken": this.csrf },
      body: JSON.stringify(payload)
    }).then(function (resp) {
      var retryAfter = resp.headers.get("Retry-After");
      var status = resp.type === "opaqueredirect" ? 401 : resp.status;
      return resp.json().then(function (body) { done(status, body, retryAfter); },
                              function () { done(status, null, retryAfter); });
    }, function () { done(0, null, null); });
  };

  // The attempt is finished (by another tab, the deadline or the sweeper): stop and go to review.
  ExamPage.prototype.finished = function (body) {
    this.stop();
    this.showAlert((body && body.error) || this.msg("finished"));
    var url = (body && body.review_url) || this.url.review;
    window.setTimeout(function () { window.location.assign(url); }, 3000);
  };

  ExamPage.prototype.stop = function () {
    this.stopped = true;
    this.outbox = {};
    writeStore(this.key, []);
    if (this.timer) { window.clearTimeout(this.timer); }
    Array.prototype.forEach.call(this.form.elements, function (el) { el.disabled = true; });
  };

  // ---------------------------------------------------------------- time

  ExamPage.prototype.sync = function (seconds) {
    if (typeof seconds === "number" && isFinite(seconds)) {
      this.endAt = clockNow() + seconds * 1000;
    }
  };

  ExamPage.prototype.tick = function () {
    if (this.endAt === null || !this.timerBox) { return; }
    var left = Math.max(0, Math.ceil((this.endAt - clockNow()) / 1000));
    this.timerBox.textContent = clock(left);
    this.timerBox.classList.toggle("low", left <= 300);
    if (left <= 60 && !this.warned.one) {
      this.warned.one = this.warned.five = true;
      this.showAlert(this.msg("warn1"));
    } else if (left <= 300 && !this.warned.five) {
      this.warned.five = true;
      this.showAlert(this.msg("warn5"));
    }
    if (left === 0 && !this.submitting && !this.stopped) {
      this.showAlert(this.msg("timeup"));
      this.submit();
    }
  };

  ExamPage.prototype.poll = function () {
    var self = this;
    if (this.stopped) { return; }
    fetch(this.url.state, { credentials: "same-origin", redirect: "manual",
                            headers: { "Accept": "application/json" } })
      .then(function (resp) { return resp.ok ? resp.json() : null; })
      .then(function (body) {
        if (!body || self.stopped) { return; }
        if (body.state && body.state !== "in_progress") { self.finished(body); return; }
        self.sync(body.remaining_seconds);
        if (typeof body.last_seq === "number" && body.last_seq > self.seq) {
          self.seq = body.last_seq;
        }
      }, function () { /* offline: the local countdown carries on */ });
  };

  // ---------------------------------------------------------------- hand-in

  ExamPage.prototype.submit = function () {
    var self = this;
    if (this.submitting || this.stopped) { return; }
    this.submitting = true;
    this.setStatus(this.msg("submitting"));
    var drain = function () {
      if (!self.stopped && self.entries().length) {
        if (!self.inFlight && self.failures === 0) { self.flush(); }
        window.setTimeout(drain, 500);
        return;
      }
      if (!self.stopped) { self.handIn(0); }
    };
    drain();
  };

  ExamPage.prototype.handIn = function (failures) {
    var self = this;
    this.post(this.url.submit, {}, function (status, body, retryAfter) {
      if (status === 200 || status === 409) {
        self.stop();
        if (status === 409) { self.showAlert((body && body.error) || self.msg("finished")); }
        window.location.assign((body && body.review_url) || self.url.review);
        return;
      }
      var wait = Math.min(DEBOUNCE_MS * Math.pow(2, failures), MAX_BACKOFF_MS);
      var hinted = parseInt(retryAfter || "", 10);
      if (hinted > 0) { wait = Math.max(wait, Math.min(hinted * 1000, MAX_BACKOFF_MS)); }
      self.setStatus(self.msg(status === 0 || status >= 500 ? "submit-retry" : "login"), true);
      window.setTimeout(function () { self.handIn(failures + 1); }, wait);
    });
  };

  // ---------------------------------------------------------------- navigation and summary

  ExamPage.prototype.cell = function (position) {
    return document.querySelector('.q-nav [data-goto="q' + position + '"]');
  };

  ExamPage.prototype.refreshNav = function (q) {
    var cell = this.cell(q.getAttribute("data-position"));
    if (cell) {
      cell.classList.toggle("answered", isAnswered(q));
      cell.classList.toggle("flagged", readFlag(q));
    }
  };

  ExamPage.prototype.show = function (id) {
    var target = document.getElementById(id);
    if (!target || this.pages.indexOf(target) < 0) { return; }
    this.pages.forEach(function (p) { p.classList.toggle("current", p === target); });
    Array.prototype.forEach.call(document.querySelectorAll(".q-nav [data-goto]"), function (a) {
      var on = a.getAttribute("data-goto") === id;
      a.classList.toggle("current", on);
      if (on) { a.setAttribute("aria-current", "step"); } else { a.removeAttribute("aria-current"); }
    });
    if (id === "summary") { this.summary(); }
    this.hideConfirm();
    if (window.history && history.replaceState) { history.replaceState(null, "", "#" + id); }
    var bar = document.querySelector(".exam-bar");
    if (bar && bar.getBoundingClientRect().top < 0) { bar.scrollIntoView(); }
  };

  function links(holder, positions, empty) {
    while (holder.firstChild) { holder.removeChild(holder.firstChild); }
    if (!positions.length) { holder.textContent = empty; return; }
    positions.forEach(function (p) {
      var a = document.createElement("a");
      a.href = "#q" + p;
      a.setAttribute("data-goto", "q" + p);
      a.textContent = String(p);
      holder.appendChild(a);
      holder.appendChild(document.createTextNode(" "));
    });
  }

  ExamPage.prototype.summary = function () {
    var unanswered = [], flagged = [];
    this.questions.forEach(function (q) {
      var p = q.getAttribute("data-position");
      if (!isAnswered(q)) { unanswered.push(p); }
      if (readFlag(q)) { flagged.push(p); }
    });
    var count = function (name, n) {
      var el = document.querySelector('[data-count="' + name + '"]');
      if (el) { el.textContent = String(n); }
    };
    count("answered", this.questions.length - unanswered.length);
    count("unanswered", unanswered.length);
    count("flagged", flagged.length);
    var none = this.msg("none");
    var holder = document.querySelector('[data-list="unanswered"]');
    if (holder) { links(holder, unanswered, none); }
    holder = document.querySelector('[data-list="flagged"]');
    if (holder) { links(holder, flagged, none); }
  };

  ExamPage.prototype.hideConfirm = function () {
    var step = this.form.querySelector("[data-confirm-step]");
    if (step) { step.hidden = true; }
  };

  ExamPage.prototype.start = function () {
    var self = this;
    this.form.classList.add("exam-live");
    this.restore();
    var first = document.getElementById(window.location.hash.replace("#", ""));
    this.show(first && this.pages.indexOf(first) >= 0 ? first.id : this.pages[0].id);

    this.form.addEventListener("change", function (ev) {
      var q = ev.target.closest ? ev.target.closest(".q[data-position]") : null;
      if (q) { self.record(q); }
    });
    this.form.addEventListener("input", function (ev) {
      var t = ev.target;
      if (t.tagName === "TEXTAREA" || t.type === "text") {
        var q = t.closest(".q[data-position]");
        if (q) { self.record(q); }
      }
    });
    this.form.addEventListener("submit", function (ev) { ev.preventDefault(); });
    document.addEventListener("click", function (ev) {
      var el = ev.target.closest ? ev.target.closest("[data-goto], [data-action]") : null;
      if (!el) { return; }
      var action = el.getAttribute("data-action");
      if (el.hasAttribute("data-goto")) {
        ev.preventDefault();
        self.show(el.getAttribute("data-goto"));
      } else if (action === "ask-submit") {
        self.summary();
        var step = self.form.querySelector("[data-confirm-step]");
        if (step) { step.hidden = false; }
      } else if (action === "cancel-submit") {
        self.hideConfirm();
      } else if (action === "submit") {
        self.submit();
      }
    });
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "hidden" && !self.failures) { self.flush(); }
    });
    window.addEventListener("beforeunload", function (ev) {
      if (!self.stopped && self.entries().length) {
        ev.preventDefault();
        ev.returnValue = self.msg("leave");
        return ev.returnValue;
      }
      return undefined;
    });
    window.setInterval(function () { self.tick(); }, 1000);
    window.setInterval(function () { self.poll(); }, POLL_MS);
    this.tick();
  };

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("exam-form");
    if (!form || !window.fetch || !window.JSON || !document.querySelector ||
        !Element.prototype.closest) { return; }
    new ExamPage(form).start();
  });
})();
