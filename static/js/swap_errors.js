// Named refusals (4xx; a contact card's 5xx too) come back as the re-rendered form or partial: show them instead of dropping them.
(function () {
  "use strict";
  document.addEventListener("htmx:beforeSwap", function (event) {
    const status = event.detail.xhr.status;
    // A contact card names upstream failures (Pipedrive down: 5xx) in place too.
    const inPlace = event.detail.target && event.detail.target.hasAttribute("data-swap-errors");
    if (status >= 400 && (status < 500 || inPlace) && event.detail.xhr.responseText) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
})();
