// The bulk import page's progress bar (templates/commitments/bulk_import_detail.html): asks the
// import's status URL every second, moves the bar, and reloads the page once the import is
// applied, to show the result. A file, not an inline script: the CSP allows only 'self'.
(function () {
  "use strict";
  var box = document.querySelector("[data-status-url]");
  if (!box) { return; }
  var bar = box.querySelector("progress");
  var text = box.querySelector(".progress-text");
  function poll() {
    fetch(box.getAttribute("data-status-url"), { credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (status) {
        bar.max = status.total || 1;
        bar.value = status.done;
        text.textContent = status.done + " / " + status.total;
        if (status.finished) {
          window.location.reload();
        } else {
          window.setTimeout(poll, 1000);
        }
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  poll();
})();
