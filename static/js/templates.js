// The message templates page: a click on a placeholder in the help puts it into the message at the
// cursor (the form is swapped by htmx, so the click is listened for on the document).
(function () {
  "use strict";
  if (window.wapipeTemplatesHelp) {
    return; // loaded again by a page swapped in with htmx: one listener is enough
  }
  window.wapipeTemplatesHelp = true;
  document.addEventListener("click", function (event) {
    const button = event.target.closest("[data-placeholder]");
    const text = document.getElementById("template-text");
    if (!button || !text) {
      return;
    }
    const placeholder = button.dataset.placeholder;
    const start = text.selectionStart ?? text.value.length;
    const end = text.selectionEnd ?? start;
    text.value = text.value.slice(0, start) + placeholder + text.value.slice(end);
    text.focus();
    text.selectionStart = text.selectionEnd = start + placeholder.length;
  });
})();
