/*
 * The sandbox's list views (/host/persons, /host/deals): row selection, the actions menu, and an app's
 * custom modal opened from it, speaking the App Extensions SDK's postMessage protocol through host_sdk.js,
 * as the record pages do for panels.
 *
 * The modal's iframe URL: the registered modal URL + id, userId, companyId, token (fresh from
 * /host/token), resource, view=list, selectedIds, theme, and filter={"filter_id":N} when a filter is
 * shown and nothing is ticked. Its size starts at 800 x 600, follows initialize/resize ({height, width}),
 * and stays between 320 x 120 and the browser window. The user's close (x, Escape) pushes
 * close_custom_modal to the app; the app's close_modal command closes it.
 * Everything is recorded on window.__pdHost for browser tests.
 */
(function () {
  "use strict";

  var root = document.getElementById("pd-host");
  var list = document.getElementById("pd-list");
  var dialog = document.getElementById("pd-custom-modal");
  var frame = document.getElementById("pd-modal-frame");
  if (!root || !list || !dialog || !frame) {
    return;
  }

  var tokenUrl = root.getAttribute("data-token-url");
  var modalUrl = list.getAttribute("data-modal-url") || "";
  var base = JSON.parse(list.getAttribute("data-modal-base") || "{}");
  var filterId = list.getAttribute("data-filter-id") || "";
  var minHeight = Number(list.getAttribute("data-min-height") || "120");
  var minWidth = Number(list.getAttribute("data-min-width") || "320");
  var initTimeoutMs = Number(root.getAttribute("data-init-timeout-ms") || "10000");
  var HEADER = 44;
  var sdk = window.PdHostSdk;

  var boxes = Array.prototype.slice.call(document.querySelectorAll(".pd-row-select"));
  var selectAll = document.getElementById("pd-select-all");
  var action = document.getElementById("pd-action-campaign");
  var menu = document.getElementById("pd-actions-menu");
  var toggle = document.getElementById("pd-actions-toggle");
  var counter = document.getElementById("pd-selected-count");
  var initTimer = null;

  var host = {
    calls: [],
    snackbars: [],
    confirmations: [],
    redirects: [],
    listeners: {},
    theme: root.getAttribute("data-theme") === "dark" ? "dark" : "light",
    modal: { open: false, src: null, params: null, identifier: null, initialized: false, hidden: false,
             width: 800, height: 600, closedBy: null },
    selected: selected,
    closeModal: function () { closeModal("user"); }
  };
  window.__pdHost = host;
  var record = sdk.recorder(host);
  var emit = host.emit = sdk.emitter(host, record);
  var askConfirmation = sdk.confirmer(host);

  // Selection and the actions menu -------------------------------------------------------------------

  function selected() {
    return boxes.filter(function (box) { return box.checked; }).map(function (box) { return box.value; });
  }

  function refresh() {
    var ids = selected();
    counter.textContent = ids.length + " selected";
    selectAll.checked = boxes.length > 0 && ids.length === boxes.length;
    action.disabled = !modalUrl || (ids.length === 0 && !filterId);
  }

  boxes.forEach(function (box) { box.addEventListener("change", refresh); });
  selectAll.addEventListener("change", function () {
    boxes.forEach(function (box) { box.checked = selectAll.checked; });
    refresh();
  });
  toggle.addEventListener("click", function () {
    menu.hidden = !menu.hidden;
    toggle.setAttribute("aria-expanded", String(!menu.hidden));
  });
  action.addEventListener("click", function () {
    menu.hidden = true;
    toggle.setAttribute("aria-expanded", "false");
    openCustomModal();
  });
  var filterSelect = document.getElementById("pd-filter");
  filterSelect.addEventListener("change", function () { document.getElementById("pd-filter-form").submit(); });
  var themeSelect = document.getElementById("pd-theme");
  if (themeSelect) {
    themeSelect.addEventListener("change", function () { setTheme(themeSelect.value); });
  }

  // The custom modal ----------------------------------------------------------------------------------

  function clamp(value, low, high, fallback) {
    var number = Number(value);
    if (!isFinite(number)) {
      return fallback;
    }
    return Math.round(Math.min(high, Math.max(low, number)));
  }

  function applySize(size) {
    if (size && size.height !== undefined) {
      host.modal.height = clamp(size.height, minHeight, window.innerHeight - HEADER, host.modal.height);
    }
    if (size && size.width !== undefined) {
      host.modal.width = clamp(size.width, minWidth, window.innerWidth, host.modal.width);
    }
    host.modal.height = clamp(host.modal.height, minHeight, window.innerHeight - HEADER, minHeight);
    host.modal.width = clamp(host.modal.width, minWidth, window.innerWidth, minWidth);
    dialog.style.width = host.modal.width + "px";
    dialog.style.height = host.modal.height + HEADER + "px";
  }

  function openCustomModal() {
    var ids = selected();
    return sdk.fetchToken(tokenUrl).then(function (signed) {
      var identifier = (window.crypto && crypto.randomUUID) ? crypto.randomUUID() : String(Date.now());
      var params = {
        id: identifier, userId: base.userId, companyId: base.companyId, token: signed.token,
        resource: base.resource, view: "list", selectedIds: ids.join(","), theme: host.theme
      };
      if (ids.length === 0 && filterId) {
        params.filter = JSON.stringify({ filter_id: Number(filterId) });
      }
      var query = new URLSearchParams(params).toString();
      var src = modalUrl + (modalUrl.indexOf("?") === -1 ? "?" : "&") + query;
      host.modal = { open: true, src: src, params: params, identifier: identifier, initialized: false,
                     hidden: false, width: 800, height: 600, closedBy: null };
      host.listeners = {};
      record({ type: "host", command: "open_custom_modal", args: params });
      document.getElementById("pd-modal-timeout").hidden = true;
      frame.hidden = false;
      applySize(null);
      frame.src = src;
      dialog.showModal();
      clearTimeout(initTimer);
      initTimer = setTimeout(function () {
        if (host.modal.initialized || !host.modal.open) {
          return;
        }
        host.modal.hidden = true;
        frame.hidden = true;
        document.getElementById("pd-modal-timeout").hidden = false;
        record({ type: "host", command: "init_timeout" });
      }, initTimeoutMs);
    });
  }

  function closeModal(by) {
    if (!host.modal.open) {
      return;
    }
    if (by === "user") {
      emit("close_custom_modal", undefined);
    }
    host.modal.open = false;
    host.modal.closedBy = by;
    clearTimeout(initTimer);
    record({ type: "host", command: "close_custom_modal", args: { by: by } });
    if (dialog.open) {
      dialog.close();
    }
    frame.src = "about:blank";
  }

  document.getElementById("pd-custom-modal-close").addEventListener("click", function () { closeModal("user"); });
  dialog.addEventListener("cancel", function (event) {  // Escape
    event.preventDefault();
    closeModal("user");
  });

  function setTheme(theme) {
    host.theme = theme === "dark" ? "dark" : "light";
    document.documentElement.setAttribute("data-theme", host.theme);
    return emit("user_settings_change", { theme: host.theme });
  }

  // Commands ------------------------------------------------------------------------------------------

  function redirect(args) {
    var view = args && typeof args.view === "string" ? args.view : "";
    var id = args ? Number(args.id) : NaN;
    host.redirects.push({ view: view, id: args ? args.id : undefined, time: Date.now() });
    if (sdk.RECORD_PAGES.hasOwnProperty(view) && Number.isInteger(id) && id > 0) {
      closeModal("redirect");
      window.location.assign(sdk.RECORD_PAGES[view] + String(id) + window.location.search);
    }
  }

  function runCommand(command, args) {
    switch (command) {
      case "initialize":
        host.modal.initialized = true;
        clearTimeout(initTimer);
        applySize(args && args.size);
        return undefined;
      case "resize":
        applySize(args);
        return undefined;
      case "show_snackbar":
        sdk.showSnackbar(host, args);
        return undefined;
      case "show_confirmation":
        return askConfirmation(args);
      case "get_signed_token":
        return sdk.fetchToken(tokenUrl);
      case "close_modal":
        setTimeout(function () { closeModal("app"); }, 0);  // after the reply reaches the app
        return undefined;
      case "redirect_to":
        redirect(args);
        return undefined;
      case "get_metadata":
        return { windowHeight: window.innerHeight, windowWidth: window.innerWidth };
      case "open_modal":
        return { status: "closed" };
      default:
        return undefined;
    }
  }

  window.addEventListener("message", function (event) {
    var message = event.data;
    if (event.source !== frame.contentWindow || !host.modal.open || !message || typeof message !== "object"
        || message.id !== host.modal.identifier || !message.payload) {
      return;
    }
    sdk.receive(host, message.payload, event.ports && event.ports[0], {
      record: record,
      initialized: function () { return host.modal.initialized; },
      run: runCommand,
      other: function (payload) {
        record({ type: payload.type === "track" ? "track" : "ignored", args: payload });
      }
    });
  });

  refresh();
})();
