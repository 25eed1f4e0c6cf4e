/*
 * Host side of the App Extensions SDK postMessage protocol, for the sandbox's fake Pipedrive pages.
 *
 * The extension posts {id, payload} to window.parent with a transferred MessagePort:
 *   payload.type === "command"  -> exactly one reply on the port: {data} or {error}
 *   payload.type === "listener" -> the port is kept; window.__pdHost.emit(event, data) posts {data} to it
 *   payload.type === "track"    -> no port, no reply; recorded
 * Everything that happens is recorded on window.__pdHost for browser tests.
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
  var SNACKBAR_MS = 8000;

  var KNOWN_COMMANDS = [
    "initialize", "resize", "show_snackbar", "show_confirmation", "get_signed_token", "open_modal",
    "close_modal", "redirect_to", "get_metadata", "show_floating_window", "hide_floating_window",
    "set_notification", "set_focus_mode"
  ];
  var KNOWN_EVENTS = ["visibility", "close_custom_modal", "user_settings_change"];

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
    emit: emit,
    setTheme: setTheme,
    setVisible: setVisible
  };
  window.__pdHost = host;

  function record(entry) {
    entry.time = Date.now();
    host.calls.push(entry);
    return entry;
  }

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

  // Listeners ---------------------------------------------------------------------------------------

  function emit(event, data) {
    var ports = host.listeners[event] || [];
    ports.forEach(function (port) {
      port.postMessage({ data: data });
    });
    record({ type: "emit", event: event, args: data, delivered: ports.length });
    return ports.length;
  }

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

  function showSnackbar(args) {
    var message = args && typeof args.message === "string" ? args.message : "";
    var entry = { message: message, link: null, time: Date.now() };
    var box = document.getElementById("pd-snackbars");
    var item = document.createElement("div");
    item.className = "pd-snackbar";
    item.setAttribute("role", "status");
    var text = document.createElement("span");
    text.textContent = message;
    item.appendChild(text);
    var link = args && args.link;
    if (link && typeof link.url === "string" && /^https?:\/\//i.test(link.url)) {
      var anchor = document.createElement("a");
      anchor.href = link.url;
      anchor.target = "_blank";
      anchor.rel = "noopener noreferrer";
      anchor.textContent = typeof link.label === "string" ? link.label : link.url;
      item.appendChild(anchor);
      entry.link = { url: link.url, label: anchor.textContent };
    }
    host.snackbars.push(entry);
    if (box) {
      box.appendChild(item);
      setTimeout(function () { item.remove(); }, SNACKBAR_MS);
    }
  }

  var confirmQueue = Promise.resolve();

  function askConfirmation(args) {
    var ask = function () {
      return new Promise(function (resolve) {
        var dialog = document.getElementById("pd-confirm");
        var entry = { title: "", description: "", confirmed: null, time: Date.now() };
        entry.title = args && typeof args.title === "string" ? args.title : "";
        entry.description = args && typeof args.description === "string" ? args.description : "";
        host.confirmations.push(entry);
        document.getElementById("pd-confirm-title").textContent = entry.title;
        document.getElementById("pd-confirm-description").textContent = entry.description;
        var ok = document.getElementById("pd-confirm-ok");
        var cancel = document.getElementById("pd-confirm-cancel");
        ok.textContent = args && typeof args.okText === "string" ? args.okText : "OK";
        cancel.textContent = args && typeof args.cancelText === "string" ? args.cancelText : "Cancel";
        ok.className = "pd-button pd-" + (args && args.okColor === "negative" ? "negative" : "primary");
        var done = function (confirmed) {
          ok.onclick = null;
          cancel.onclick = null;
          dialog.onclose = null;
          if (dialog.open) {
            dialog.close();
          }
          entry.confirmed = confirmed;
          resolve({ confirmed: confirmed });
        };
        ok.onclick = function () { done(true); };
        cancel.onclick = function () { done(false); };
        dialog.onclose = function () { done(false); };
        dialog.showModal();
      });
    };
    var answer = confirmQueue.then(ask);
    confirmQueue = answer.catch(function () {});
    return answer;
  }

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

  // Pipedrive's own pages for a record the app names: a Person ("contacts") or a Deal, by id.
  var RECORD_PAGES = { contacts: "/person/", deals: "/deal/" };

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

  function fetchToken() {
    return fetch(tokenUrl, { cache: "no-store", credentials: "same-origin" }).then(function (response) {
      if (!response.ok) {
        throw new Error("Could not get a signed token (HTTP " + response.status + ")");
      }
      return response.json();
    }).then(function (body) {
      return { token: body.token };
    });
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
        showSnackbar(args);
        return undefined;
      case "show_confirmation":
        return askConfirmation(args);
      case "get_signed_token":
        return fetchToken();
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

  function replier(port) {
    var sent = false;
    return function (message) {
      if (sent || !port) {
        return;
      }
      sent = true;
      port.postMessage(message);
      port.close();
    };
  }

  function handleCommand(payload, port) {
    var entry = record({ type: "command", command: payload.command, args: payload.args });
    var reply = replier(port);
    var command = payload.command;
    if (KNOWN_COMMANDS.indexOf(command) === -1) {
      entry.error = "Invalid command";
      reply({ error: entry.error });
      return;
    }
    if (command !== "initialize" && !host.initialized) {
      entry.error = "SDK is not initialized";
      reply({ error: entry.error });
      return;
    }
    Promise.resolve()
      .then(function () { return runCommand(command, payload.args); })
      .then(function (data) {
        entry.reply = data;
        reply({ data: data });
      }, function (error) {
        entry.error = error && error.message ? error.message : String(error);
        reply({ error: entry.error });
      });
  }

  function handleListener(payload, port) {
    var entry = record({ type: "listener", event: payload.event });
    if (!port) {
      return;
    }
    if (KNOWN_EVENTS.indexOf(payload.event) === -1) {
      entry.error = "Invalid event";
      port.postMessage({ error: entry.error });
      port.close();
      return;
    }
    (host.listeners[payload.event] = host.listeners[payload.event] || []).push(port);
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
    var payload = message.payload;
    var port = event.ports && event.ports[0];
    if (payload.type === "command") {
      handleCommand(payload, port);
    } else if (payload.type === "listener") {
      handleListener(payload, port);
    } else if (payload.type === "track") {
      host.tracks.push({ event: payload.event, time: Date.now() });
      record({ type: "track", command: "track", args: { event: payload.event } });
    } else {
      host.ignored += 1;
    }
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
