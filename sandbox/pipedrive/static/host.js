/*
 * The sandbox's record pages (a Person's or a Deal's): the app's panel in an iframe, its size, visibility
 * and theme, and what its SDK commands do here (the protocol itself is host_sdk.js; tracks are recorded,
 * never answered). Everything that happens is recorded on window.__pdHost for browser tests.
 */
(function () {
  "use strict";

  var root = document.getElementById("pd-host");
  var iframe = document.getElementById("pd-extension");
  if (!root || !iframe) {
    return;
  }

  var identifier = iframe.getAttribute("data-identifier");
  var minHeight = Number(iframe.getAttribute("data-min-height") || "100");
  var maxHeight = Number(iframe.getAttribute("data-max-height") || "750");
  var tokenUrl = root.getAttribute("data-token-url");
  var initTimeoutMs = Number(root.getAttribute("data-init-timeout-ms") || "10000");
  var sdk = window.PdHostSdk;

  var host = {
    identifier: identifier,
    calls: [],
    tracks: [],
    snackbars: [],
    confirmations: [],
    modals: [],
    redirects: [],
    ignored: 0,
    initialized: false,
    hidden: false,
    visible: true,
    height: Number(iframe.getAttribute("data-initial-height") || "200"),
    theme: root.getAttribute("data-theme") === "dark" ? "dark" : "light",
    listeners: {},
    setTheme: setTheme,
    setVisible: setVisible
  };
  window.__pdHost = host;
  var record = sdk.recorder(host);
  var emit = host.emit = sdk.emitter(host, record);
  var askConfirmation = sdk.confirmer(host);

  function clampHeight(value) {
    var height = Number(value);
    if (!isFinite(height)) {
      return host.height;
    }
    return Math.round(Math.min(maxHeight, Math.max(minHeight, height)));
  }

  function applyHeight(value) {
    host.height = clampHeight(value);
    iframe.style.height = host.height + "px";
    return host.height;
  }

  // Events the host pushes --------------------------------------------------------------------------

  function setTheme(theme) {
    host.theme = theme === "dark" ? "dark" : "light";
    document.documentElement.setAttribute("data-theme", host.theme);
    var select = document.getElementById("pd-theme");
    if (select && select.value !== host.theme) {
      select.value = host.theme;
    }
    return emit("user_settings_change", { theme: host.theme });
  }

  function setVisible(isVisible) {
    host.visible = Boolean(isVisible);
    var body = document.getElementById("pd-panel-body");
    if (body) {
      body.hidden = !host.visible;
    }
    var toggle = document.getElementById("pd-panel-toggle");
    if (toggle) {
      toggle.setAttribute("aria-expanded", String(host.visible));
    }
    return emit("visibility", { is_visible: host.visible, context: { invoker: "user" } });
  }

  // Visible host UI ---------------------------------------------------------------------------------

  var openModal = null;
  var nextEntityId = 1001;

  function showModal(args) {
    return new Promise(function (resolve) {
      var dialog = document.getElementById("pd-modal");
      var type = args && typeof args.type === "string" ? args.type : "";
      var entry = { type: type, args: args, status: null, time: Date.now() };
      host.modals.push(entry);
      var title = type === "custom_modal" || type === "json_modal"
        ? "Modal " + String(args.action_id)
        : "New " + type;
      document.getElementById("pd-modal-title").textContent = title;
      document.getElementById("pd-modal-body").textContent = JSON.stringify(args, null, 2);
      var finish = function (status) {
        if (openModal !== finish) {
          return;
        }
        openModal = null;
        if (dialog.open) {
          dialog.close();
        }
        entry.status = status;
        var reply = { status: status };
        if (status === "submitted" && type !== "custom_modal" && type !== "json_modal") {
          reply.id = nextEntityId++;
        }
        resolve(reply);
      };
      openModal = finish;
      document.getElementById("pd-modal-submit").onclick = function () { finish("submitted"); };
      document.getElementById("pd-modal-close").onclick = function () { finish("closed"); };
      dialog.onclose = function () { finish("closed"); };
      dialog.showModal();
    });
  }

  var RECORD_PAGES = sdk.RECORD_PAGES;

  function showRedirect(args) {
    var view = args && typeof args.view === "string" ? args.view : "";
    var target = "/" + view + (args && args.id !== undefined ? "/" + String(args.id) : "");
    host.redirects.push({ view: view, id: args ? args.id : undefined, target: target, time: Date.now() });
    var id = args ? Number(args.id) : NaN;
    if (RECORD_PAGES.hasOwnProperty(view) && Number.isInteger(id) && id > 0) {
      // Pipedrive opens the record's page; the sandbox keeps who is looking and which app is shown.
      window.location.assign(RECORD_PAGES[view] + String(id) + window.location.search);
      return;
    }
    var note = document.getElementById("pd-redirect");
    if (note) {
      note.textContent = "The app asked to open " + target;
      note.hidden = false;
    }
  }

  function setBadge(args) {
    var badge = document.getElementById("pd-panel-badge");
    var number = args && typeof args.number === "number" ? args.number : 0;
    if (badge) {
      badge.textContent = number > 0 ? String(number) : "";
      badge.hidden = number <= 0;
    }
  }

  // Commands ----------------------------------------------------------------------------------------

  function runCommand(command, args) {
    switch (command) {
      case "initialize":
        host.initialized = true;
        clearTimeout(initTimer);
        if (args && args.size && args.size.height !== undefined) {
          applyHeight(args.size.height);
        }
        return undefined;
      case "resize":
        if (args && args.height !== undefined) {
          applyHeight(args.height);
        }
        return undefined;
      case "show_snackbar":
        sdk.showSnackbar(host, args);
        return undefined;
      case "show_confirmation":
        return askConfirmation(args);
      case "get_signed_token":
        return sdk.fetchToken(tokenUrl);
      case "open_modal":
        return showModal(args);
      case "close_modal":
        if (openModal) {
          openModal("closed");
        }
        return undefined;
      case "redirect_to":
        showRedirect(args);
        return undefined;
      case "get_metadata":
        return { windowHeight: window.innerHeight, windowWidth: window.innerWidth };
      case "set_notification":
        setBadge(args);
        return undefined;
      default:
        return undefined;
    }
  }

  window.addEventListener("message", function (event) {
    if (event.source !== iframe.contentWindow) {
      host.ignored += 1;  // not from the app's frame: a forgery, never a command
      return;
    }
    var message = event.data;
    if (!message || typeof message !== "object" || message.id !== identifier || !message.payload) {
      host.ignored += 1;
      return;
    }
    sdk.receive(host, message.payload, event.ports && event.ports[0], {
      record: record,
      initialized: function () { return host.initialized; },
      run: runCommand,
      other: function (payload) {
        if (payload.type === "track") {
          host.tracks.push({ event: payload.event, time: Date.now() });
          record({ type: "track", command: "track", args: { event: payload.event } });
        } else {
          host.ignored += 1;
        }
      }
    });
  });

  // The 10-second rule: Pipedrive hides an extension that has not initialized the SDK by then.
  var initTimer = setTimeout(function () {
    if (host.initialized) {
      return;
    }
    host.hidden = true;
    iframe.hidden = true;
    var note = document.getElementById("pd-init-timeout");
    if (note) {
      note.hidden = false;
    }
    record({ type: "host", command: "init_timeout" });
  }, initTimeoutMs);

  // Host controls -----------------------------------------------------------------------------------

  var themeSelect = document.getElementById("pd-theme");
  if (themeSelect) {
    themeSelect.addEventListener("change", function () { setTheme(themeSelect.value); });
  }
  var toggle = document.getElementById("pd-panel-toggle");
  if (toggle) {
    toggle.addEventListener("click", function () { setVisible(!host.visible); });
  }
  applyHeight(host.height);

  // Load the extension only now: its initialize message must find the listener above in place.
  iframe.src = iframe.getAttribute("data-src");
})();
