// Course editor: live Markdown preview (the server renders and sanitises it) and drag-to-reorder
// lessons. Without JavaScript the "预览" button and the up/down buttons do the same.
(function () {
  "use strict";

  function csrfToken(el) {
    var form = el.form || document.querySelector("form");
    var input = form && form.querySelector("input[name=csrf_token]");
    return input ? input.value : "";
  }

  function livePreview(textarea) {
    var url = textarea.getAttribute("data-preview-url");
    var target = document.getElementById("preview");
    var status = document.getElementById("preview-status");
    var timer = null;
    var sent = 0;
    if (!url || !target) { return; }
    function refresh() {
      var mine = ++sent;
      fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: {"X-CSRFToken": csrfToken(textarea),
                  "Content-Type": "application/x-www-form-urlencoded"},
        body: "body=" + encodeURIComponent(textarea.value)
      }).then(function (resp) {
        if (!resp.ok) { throw new Error(resp.status); }
        return resp.json();
      }).then(function (data) {
        if (mine !== sent) { return; }  // an older answer arriving late
        target.innerHTML = data.html;  // sanitised by the server (nh3)
        if (status) { status.textContent = ""; }
      }).catch(function () {
        if (status) { status.textContent = textarea.getAttribute("data-preview-error") || ""; }
      });
    }
    textarea.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(refresh, 400);
    });
  }

  function dragReorder(tbody) {
    var form = document.getElementById(tbody.getAttribute("data-reorder"));
    var dragged = null;
    if (!form) { return; }
    tbody.querySelectorAll("tr[data-id]").forEach(function (row) {
      row.setAttribute("draggable", "true");
      row.addEventListener("dragstart", function (ev) {
        dragged = row;
        row.classList.add("dragging");
        ev.dataTransfer.effectAllowed = "move";
        ev.dataTransfer.setData("text/plain", row.getAttribute("data-id"));
      });
      row.addEventListener("dragend", function () { row.classList.remove("dragging"); });
      row.addEventListener("dragover", function (ev) {
        if (!dragged || dragged === row) { return; }
        ev.preventDefault();
        var box = row.getBoundingClientRect();
        var after = ev.clientY > box.top + box.height / 2;
        tbody.insertBefore(dragged, after ? row.nextSibling : row);
      });
      row.addEventListener("drop", function (ev) {
        ev.preventDefault();
        submitOrder();
      });
    });
    function submitOrder() {
      form.querySelectorAll("input[name=order]").forEach(function (i) { i.remove(); });
      tbody.querySelectorAll("tr[data-id]").forEach(function (row) {
        var input = document.createElement("input");
        input.type = "hidden";
        input.name = "order";
        input.value = row.getAttribute("data-id");
        form.appendChild(input);
      });
      form.submit();
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("textarea[data-preview-url]").forEach(livePreview);
    document.querySelectorAll("tbody[data-reorder]").forEach(dragReorder);
  });
})();
