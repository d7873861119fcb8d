// Small progressive enhancements; every page works without them.
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  document.addEventListener("DOMContentLoaded", function () {
    var toggle = document.querySelector(".navtoggle");
    var nav = document.getElementById("mainnav");
    if (toggle && nav) {
      toggle.addEventListener("click", function () {
        var open = nav.classList.toggle("open");
        toggle.setAttribute("aria-expanded", open ? "true" : "false");
      });
    }
    // Destructive actions: forms with data-confirm ask first.
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (ev) {
        if (!window.confirm(form.getAttribute("data-confirm"))) { ev.preventDefault(); }
      });
    });
    // Long jobs: a form with data-progress shows its message and disables the button.
    document.querySelectorAll("form[data-progress]").forEach(function (form) {
      form.addEventListener("submit", function () {
        var note = form.querySelector(".progress-note");
        if (note) { note.hidden = false; }
        form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
      });
    });
    document.querySelectorAll("[data-print]").forEach(function (b) {
      b.addEventListener("click", function () { window.print(); });
    });
    // Exam pages keep unsent answers in sessionStorage (exam.js): logging out removes them, so
    // nothing of an exam stays in the browser of a shared computer.
    document.querySelectorAll("form[data-logout]").forEach(function (form) {
      form.addEventListener("submit", function () {
        try {
          for (var i = window.sessionStorage.length - 1; i >= 0; i--) {
            var key = window.sessionStorage.key(i);
            if (key && key.indexOf("exam-outbox-") === 0) { window.sessionStorage.removeItem(key); }
          }
        } catch (e) { /* storage disabled: nothing was kept */ }
      });
    });
  });
})();
