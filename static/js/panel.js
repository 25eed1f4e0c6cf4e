// The "Send WhatsApp message" panel: an idempotency key per message (renewed only after a successful
// send, so a double click or a retry never sends twice), the country picker, the message's character
// count against WhatsApp's limit (nothing typed or pasted is cut: beyond the limit it warns, and Send is
// refused by name), and the SDK snackbar. Words come from the page, in its language (data-text-*), and
// numbers are written as the page's language writes them.
(function () {
  "use strict";

  function newRef() {
    if (window.crypto && window.crypto.randomUUID) {
      return window.crypto.randomUUID();
    }
    const bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.from(bytes, function (b) { return b.toString(16).padStart(2, "0"); }).join("");
  }

  function chosenPhoneIsInternational(form) {
    const to = form.querySelector("#to");
    if (!to || to.selectedIndex < 0) {
      return true;
    }
    return to.options[to.selectedIndex].dataset.international === "1";
  }

  function suggestRegion(form) {
    const from = form.querySelector("#from");
    const region = form.querySelector("#region");
    if (!from || !region || region.dataset.touched === "1" || from.selectedIndex < 0) {
      return;
    }
    const suggested = from.options[from.selectedIndex].dataset.region || "";
    if (suggested) {
      region.value = suggested;
    }
  }

  function filterCountries(form) {
    const search = form.querySelector("#region-search");
    const region = form.querySelector("#region");
    if (!search || !region) {
      return;
    }
    const needle = search.value.trim().toLowerCase();
    let first = null;
    Array.prototype.forEach.call(region.options, function (option) {
      const match = !needle || !option.value || option.text.toLowerCase().indexOf(needle) !== -1 ||
        option.value.toLowerCase() === needle;
      option.hidden = !match;
      if (match && option.value && first === null) {
        first = option;
      }
    });
    if (needle && first && region.options[region.selectedIndex].hidden) {
      region.value = first.value;
      region.dataset.touched = "1";
    }
  }

  const numbers = new Intl.NumberFormat(document.documentElement.lang || "en");

  // A sentence of the page's (data-text-<name>) with its {placeholders} filled.
  function words(element, name, values) {
    const sentence = (element && element.dataset[name]) || "";
    return sentence.replace(/\{(\w+)\}/g, function (whole, key) {
      return Object.prototype.hasOwnProperty.call(values, key) ? values[key] : whole;
    });
  }

  // Characters as the server counts them (code points of the trimmed text), so the two always agree.
  function countText(form) {
    const text = form.querySelector("#text");
    const count = form.querySelector("#text-count");
    if (!text || !count) {
      return;
    }
    const max = Number(text.dataset.maxLength);
    const used = Array.from(text.value.trim()).length;
    const over = used - max;
    count.classList.toggle("over", over > 0);
    if (over > 0) {
      count.textContent = words(count, "textOver", {
        used: numbers.format(used), max: numbers.format(max), over: numbers.format(over),
      });
    } else {
      count.textContent = used ? numbers.format(used) + " / " + numbers.format(max) : "";
    }
  }

  function prepare(form) {
    countText(form);
    const ref = form.querySelector("input[name=client_ref]");
    if (ref && !ref.value) {
      ref.value = newRef();
    }
    const field = form.querySelector("#region-field");
    if (field) {
      field.hidden = chosenPhoneIsInternational(form);
    }
    const region = form.querySelector("#region");
    if (region && !region.value) {
      suggestRegion(form);
    }
  }

  document.addEventListener("change", function (event) {
    const form = event.target.closest && event.target.closest("#panel-form");
    if (!form) {
      return;
    }
    if (event.target.id === "region") {
      event.target.dataset.touched = "1";
    }
    if (event.target.id === "from") {
      suggestRegion(form);
    }
    prepare(form);
  });
  document.addEventListener("input", function (event) {
    if (event.target.id === "region-search") {
      filterCountries(event.target.closest("#panel-form"));
    }
    if (event.target.id === "text") {
      countText(event.target.closest("#panel-form"));
    }
  });

  // Refusals come back as 4xx with the form (or link box) re-rendered around what was typed: show them.
  document.addEventListener("htmx:beforeSwap", function (event) {
    const status = event.detail.xhr.status;
    const target = event.detail.target;
    // A failure that left nothing to re-render arrives retargeted to the notice slot beside the form.
    const swappable = ["panel-form", "panel-link", "panel-form-notice", "panel-link-notice"];
    const named = target && (swappable.indexOf(target.id) !== -1 || target.hasAttribute("data-swap-errors"));
    if (status >= 400 && named) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
  document.addEventListener("htmx:load", function (event) {
    const form = event.detail.elt.id === "panel-form" ? event.detail.elt : event.detail.elt.querySelector &&
      event.detail.elt.querySelector("#panel-form");
    if (form) {
      prepare(form);
    }
  });
  // "Open <Person>" on a shared contact card: Pipedrive shows the Person (the link is for outside it).
  document.addEventListener("click", function (event) {
    const link = event.target.closest && event.target.closest("a[data-open-person]");
    if (!link || document.body.dataset.sdk !== "ready") {
      return;
    }
    event.preventDefault();
    window.wapipeFrame.ready.then(function (sdk) {
      return sdk.execute("redirect_to", { view: "contacts", id: Number(link.dataset.openPerson) });
    }).catch(function () {});
  });
  document.body.addEventListener("panel-sent", function (event) {
    if (window.wapipeFrame) {
      const queued = words(document.getElementById("panel-form"), "textQueued", {});
      window.wapipeFrame.snackbar((event.detail && event.detail.message) || queued);
    }
  });

  const form = document.getElementById("panel-form");
  if (form) {
    prepare(form);
  }
})();
