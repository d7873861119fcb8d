// Lesson pages: report reading time while the page is visible, and remember where each lesson
// video was stopped (resumed from its data-resume attribute on the next visit). The server caps each report by
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

  // Video resume position: sent at most every POSITION_MS while playing, and on pause/pagehide.
  var POSITION_MS = 15000;
  document.addEventListener("DOMContentLoaded", function () {
    var holder = document.querySelector("[data-csrf]");
    var token = holder ? holder.getAttribute("data-csrf") : "";
    var videos = document.querySelectorAll("video[data-lesson-video]");
    if (!window.fetch || !window.FormData) { return; }
    Array.prototype.forEach.call(videos, function (video) {
      var url = video.getAttribute("data-position-url");
      if (!url) { return; }
      var lastSent = Date.now();
      var lastValue = -1;

      function send() {
        var position = Math.floor(video.currentTime || 0);
        if (!isFinite(position) || position < 0 || position > 86400 || position === lastValue) {
          return;
        }
        lastSent = Date.now();
        lastValue = position;
        var body = new FormData();
        body.append("csrf_token", token);
        body.append("position", String(position));
        fetch(url, { method: "POST", body: body, credentials: "same-origin", keepalive: true,
                     headers: { "X-CSRFToken": token } })
          .catch(function () { /* offline: the previous position stays */ });
      }

      var resume = parseInt(video.getAttribute("data-resume") || "0", 10);
      if (resume > 0) {
        var seek = function () {
          if (!video.duration || resume < video.duration - 1) { video.currentTime = resume; }
        };
        if (video.readyState >= 1) { seek(); } else {
          video.addEventListener("loadedmetadata", seek, { once: true });
        }
      }
      video.addEventListener("timeupdate", function () {
        if (!video.paused && Date.now() - lastSent >= POSITION_MS) { send(); }
      });
      video.addEventListener("pause", send);
      window.addEventListener("pagehide", send);
    });
  });
})();
