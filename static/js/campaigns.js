// The campaign pages inside Pipedrive's frame: the results CSV is downloaded with the page's signed
// Pipedrive token (X-Pipedrive-Token, as htmx requests carry it), since a plain link would have none.
(function () {
  "use strict";
  if (window.wapipeCampaigns) {
    return; // loaded again by a page swapped in
  }
  window.wapipeCampaigns = true;
  document.addEventListener("click", function (event) {
    const link = event.target.closest && event.target.closest("a[data-download]");
    if (!link) {
      return;
    }
    event.preventDefault();
    const frame = window.wapipeFrame;
    const token = frame ? frame.freshToken() : Promise.resolve("");
    token.then(function (value) {
      return fetch(link.getAttribute("href"), { headers: value ? { "X-Pipedrive-Token": value } : {} });
    }).then(function (answer) {
      if (!answer.ok) {
        throw new Error("download refused: " + answer.status);
      }
      return answer.blob();
    }).then(function (blob) {
      const save = document.createElement("a");
      save.href = URL.createObjectURL(blob);
      save.download = link.dataset.download;
      document.body.appendChild(save);
      save.click();
      save.remove();
      setTimeout(function () { URL.revokeObjectURL(save.href); }, 10000);
    }).catch(function () {
      link.dataset.failed = "true";
    });
  });
})();
