// The chat view's poll (marked data-poll-changes) names the first message its list shows ("from"), so the
// answer brings back changed messages only for bubbles on the page (older pages load on request).
(function () {
  "use strict";
  document.addEventListener("htmx:configRequest", function (event) {
    const poll = event.detail.elt;
    if (!poll || !poll.matches || !poll.matches("[data-poll-changes]")) {
      return;
    }
    const list = poll.closest("[data-message-list]");
    const first = list && list.querySelector(".bubble[data-message-id]");
    if (first) {
      event.detail.parameters.from = first.dataset.messageId;
    }
  });
})();
