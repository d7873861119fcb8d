// Question form: show only the answer section of the chosen type (every section stays in the
// page without JavaScript, and the server ignores the sections of other types).
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector("form[data-question-form]");
    if (!form) { return; }
    var type = form.querySelector("select[name=type]");
    if (!type) { return; }
    var sections = form.querySelectorAll(".q-section");
    function update() {
      sections.forEach(function (s) {
        var types = (s.getAttribute("data-types") || "").split(" ");
        s.hidden = types.indexOf(type.value) < 0;
      });
    }
    type.addEventListener("change", update);
    update();
  });
})();
