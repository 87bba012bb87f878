// The bulk import page's progress (templates/commitments/bulk_import_detail.html): asks the
// import's status URL every second and shows one state at a time: queued, "Waiting for a
// worker…"; applying, the bar; applied, the page reloaded to show the result. A file, not an
// inline script: the CSP allows only 'self'.
(function () {
  "use strict";
  var box = document.querySelector("[data-status-url]");
  if (!box) { return; }
  var waiting = box.querySelector(".bulk-import-waiting");
  var applying = box.querySelector(".bulk-import-applying");
  var bar = box.querySelector("progress");
  var text = box.querySelector(".progress-text");
  function poll() {
    fetch(box.getAttribute("data-status-url"), { credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (status) {
        if (status.finished) {
          window.location.reload();
          return;
        }
        waiting.hidden = status.state !== "queued";
        applying.hidden = status.state === "queued";
        bar.max = status.total || 1;
        bar.value = status.done;
        text.textContent = status.done + " / " + status.total;
        window.setTimeout(poll, 1000);
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  poll();
})();
