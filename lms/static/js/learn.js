// Lesson pages: report reading time while the page is visible. The server caps each report by
// the wall-clock time since the previous one, so this is a convenience, never a source of truth.
(function () {
  "use strict";
  var INTERVAL_MS = 60000;
  document.addEventListener("DOMContentLoaded", function () {
    var el = document.querySelector("[data-time-url]");
    if (!el || !window.fetch || !window.FormData) { return; }
    var url = el.getAttribute("data-time-url");
    var token = el.getAttribute("data-csrf");
    var since = Date.now();

    function report() {
      var seconds = Math.round((Date.now() - since) / 1000);
      since = Date.now();
      if (seconds <= 0) { return; }
      var body = new FormData();
      body.append("csrf_token", token);
      body.append("seconds", String(Math.min(seconds, 3600)));
      fetch(url, { method: "POST", body: body, credentials: "same-origin", keepalive: true })
        .catch(function () { /* offline: this minute is simply not counted */ });
    }

    window.setInterval(function () {
      if (document.visibilityState === "visible") { report(); }
    }, INTERVAL_MS);
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "hidden") { report(); } else { since = Date.now(); }
    });
  });
})();
