// The commitments table's type-ahead filters (core.widgets.TypeAhead): as a box is focused or
// typed in, asks its data-choices URL for the labels matching the text so far and lists them
// in the box's <datalist>, which the browser offers under the box. Only the newest answer is
// listed: an older request still out is cancelled. Without this script the box still works:
// the server reads part of a name (commitments.filters.typed_filters). A file, not an inline
// script: the CSP allows only 'self'.
(function () {
  "use strict";
  var DELAY_MS = 150;

  function attach(box) {
    var list = document.getElementById(box.getAttribute("list"));
    var url = box.getAttribute("data-choices");
    var timer = null;
    var pending = null;
    var listed = null;

    function suggest() {
      var text = box.value;
      if (text === listed) { return; }
      if (pending) { pending.abort(); }
      pending = new AbortController();
      fetch(url + "?q=" + encodeURIComponent(text), {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
        signal: pending.signal
      })
        .then(function (response) {
          if (!response.ok) { throw new Error(response.status); }
          return response.json();
        })
        .then(function (answer) {
          var options = answer.choices.map(function (label) {
            var option = document.createElement("option");
            option.value = label;
            return option;
          });
          list.replaceChildren.apply(list, options);
          listed = text;
        })
        .catch(function () { /* cancelled or refused: the box works without suggestions */ });
    }

    box.addEventListener("focus", suggest);
    box.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(suggest, DELAY_MS);
    });
  }

  document.querySelectorAll("input[data-choices][list]").forEach(attach);
})();
