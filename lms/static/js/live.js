// Live view of an exam: reload every N seconds (data-live-refresh) unless the organiser is
// using the filters; the page works without it (reload by hand).
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var stamp = document.querySelector("[data-live-refresh]");
    if (!stamp) { return; }
    var seconds = parseInt(stamp.getAttribute("data-live-refresh"), 10) || 30;
    window.setInterval(function () {
      var active = document.activeElement;
      if (active && active.closest && active.closest("form")) { return; }
      if (document.hidden) { return; }
      window.location.reload();
    }, seconds * 1000);
  });
})();
