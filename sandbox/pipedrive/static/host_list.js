/*
 * The sandbox's list views (/host/persons, /host/deals): row selection, the actions menu, and an app's
 * custom modal opened from it, speaking the App Extensions SDK's postMessage protocol as host.js does for
 * panels (one reply per command on the transferred port; listener ports kept for events).
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
  var KNOWN_COMMANDS = [
    "initialize", "resize", "show_snackbar", "show_confirmation", "get_signed_token", "open_modal",
    "close_modal", "redirect_to", "get_metadata", "show_floating_window", "hide_floating_window",
    "set_notification", "set_focus_mode"
  ];
  var KNOWN_EVENTS = ["visibility", "close_custom_modal", "user_settings_change"];
  var RECORD_PAGES = { contacts: "/person/", deals: "/deal/" };

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
    emit: emit,
    closeModal: function () { closeModal("user"); }
  };
  window.__pdHost = host;

  function record(entry) {
    entry.time = Date.now();
    host.calls.push(entry);
    return entry;
  }

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

  function fetchToken() {
    return fetch(tokenUrl, { cache: "no-store", credentials: "same-origin" }).then(function (response) {
      if (!response.ok) {
        throw new Error("Could not get a signed token (HTTP " + response.status + ")");
      }
      return response.json();
    }).then(function (body) { return { token: body.token }; });
  }

  function openCustomModal() {
    var ids = selected();
    return fetchToken().then(function (signed) {
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

  function emit(event, data) {
    var ports = host.listeners[event] || [];
    ports.forEach(function (port) { port.postMessage({ data: data }); });
    record({ type: "emit", event: event, args: data, delivered: ports.length });
    return ports.length;
  }

  function setTheme(theme) {
    host.theme = theme === "dark" ? "dark" : "light";
    document.documentElement.setAttribute("data-theme", host.theme);
    return emit("user_settings_change", { theme: host.theme });
  }

  // Commands ------------------------------------------------------------------------------------------

  function showSnackbar(args) {
    var message = args && typeof args.message === "string" ? args.message : "";
    host.snackbars.push({ message: message, time: Date.now() });
    var box = document.getElementById("pd-snackbars");
    var item = document.createElement("div");
    item.className = "pd-snackbar";
    item.setAttribute("role", "status");
    item.textContent = message;
    box.appendChild(item);
    setTimeout(function () { item.remove(); }, 8000);
  }

  function askConfirmation(args) {
    return new Promise(function (resolve) {
      var confirm = document.getElementById("pd-confirm");
      var entry = {
        title: args && typeof args.title === "string" ? args.title : "",
        description: args && typeof args.description === "string" ? args.description : "",
        confirmed: null, time: Date.now()
      };
      host.confirmations.push(entry);
      document.getElementById("pd-confirm-title").textContent = entry.title;
      document.getElementById("pd-confirm-description").textContent = entry.description;
      var ok = document.getElementById("pd-confirm-ok");
      var cancel = document.getElementById("pd-confirm-cancel");
      ok.textContent = args && typeof args.okText === "string" ? args.okText : "OK";
      cancel.textContent = args && typeof args.cancelText === "string" ? args.cancelText : "Cancel";
      var done = function (confirmed) {
        ok.onclick = null;
        cancel.onclick = null;
        confirm.onclose = null;
        if (confirm.open) {
          confirm.close();
        }
        entry.confirmed = confirmed;
        resolve({ confirmed: confirmed });
      };
      ok.onclick = function () { done(true); };
      cancel.onclick = function () { done(false); };
      confirm.onclose = function () { done(false); };
      confirm.showModal();
    });
  }

  function redirect(args) {
    var view = args && typeof args.view === "string" ? args.view : "";
    var id = args ? Number(args.id) : NaN;
    host.redirects.push({ view: view, id: args ? args.id : undefined, time: Date.now() });
    if (RECORD_PAGES.hasOwnProperty(view) && Number.isInteger(id) && id > 0) {
      closeModal("redirect");
      window.location.assign(RECORD_PAGES[view] + String(id) + window.location.search);
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
        showSnackbar(args);
        return undefined;
      case "show_confirmation":
        return askConfirmation(args);
      case "get_signed_token":
        return fetchToken();
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
    var payload = message.payload;
    var port = event.ports && event.ports[0];
    if (payload.type === "listener") {
      var listening = record({ type: "listener", event: payload.event });
      if (!port) {
        return;
      }
      if (KNOWN_EVENTS.indexOf(payload.event) === -1) {
        listening.error = "Invalid event";
        port.postMessage({ error: listening.error });
        port.close();
        return;
      }
      (host.listeners[payload.event] = host.listeners[payload.event] || []).push(port);
      return;
    }
    if (payload.type !== "command") {
      record({ type: payload.type === "track" ? "track" : "ignored", args: payload });
      return;
    }
    var entry = record({ type: "command", command: payload.command, args: payload.args });
    var reply = function (answer) {
      if (port) {
        port.postMessage(answer);
        port.close();
      }
    };
    if (KNOWN_COMMANDS.indexOf(payload.command) === -1) {
      entry.error = "Invalid command";
      reply({ error: entry.error });
      return;
    }
    if (payload.command !== "initialize" && !host.modal.initialized) {
      entry.error = "SDK is not initialized";
      reply({ error: entry.error });
      return;
    }
    Promise.resolve()
      .then(function () { return runCommand(payload.command, payload.args); })
      .then(function (data) {
        entry.reply = data;
        reply({ data: data });
      }, function (error) {
        entry.error = error && error.message ? error.message : String(error);
        reply({ error: entry.error });
      });
  });

  refresh();
})();
