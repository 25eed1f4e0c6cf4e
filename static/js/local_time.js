// One rule for times on every page (the panel, the chat view, and the WAHA sandbox's phone, which follows
// it too): a message's time shows in the reader's own time zone, as their phone shows it. Pages print
// <time datetime="…UTC…" data-local> with a fallback text; this rewrites it as "06 Dec 09:05" local, with
// the full date and zone as its title, also in parts htmx swaps in later. Dates are written as the page's
// language writes them (<html lang>: "ja" reads "12月06日 09:05"); English pages use the day-month order.
(function () {
  "use strict";
  const lang = document.documentElement.lang;
  const tag = lang && lang !== "en" ? lang : "en-GB";
  const day = new Intl.DateTimeFormat(tag, { day: "2-digit", month: "short" });
  const clock = new Intl.DateTimeFormat(tag, { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  const full = new Intl.DateTimeFormat(tag, { dateStyle: "full", timeStyle: "long" });
  const SELECTOR = "time[datetime][data-local]";

  function show(time) {
    const at = new Date(time.getAttribute("datetime"));
    if (isNaN(at.getTime())) {
      return;
    }
    time.textContent = day.format(at) + " " + clock.format(at);
    time.title = full.format(at);
    time.dataset.local = "shown";
  }

  function showWithin(node) {
    if (node.nodeType !== 1) {
      return;
    }
    if (node.matches(SELECTOR)) {
      show(node);
    }
    node.querySelectorAll(SELECTOR).forEach(show);
  }

  new MutationObserver(function (changes) {
    changes.forEach(function (change) {
      change.addedNodes.forEach(showWithin);
    });
  }).observe(document.documentElement, { childList: true, subtree: true });
  showWithin(document.documentElement);
})();
