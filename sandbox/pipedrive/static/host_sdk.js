/*
 * The host side of the App Extensions SDK's postMessage protocol, shared by the sandbox's pages that embed
 * an app: the record pages' panel (host.js) and the list pages' custom modal (host_list.js).
 *
 * The extension posts {id, payload} to window.parent with a transferred MessagePort:
 *   payload.type === "command"  -> exactly one reply on the port: {data} or {error}
 *   payload.type === "listener" -> the port is kept in host.listeners; emit(event, data) posts {data} to it
 *   anything else               -> handed to the page (tracks are recorded, never answered)
 * A page checks where a message came from, then calls PdHostSdk.receive with its own commands.
 */
(function () {
  "use strict";

  var SNACKBAR_MS = 8000;
  var KNOWN_COMMANDS = [
    "initialize", "resize", "show_snackbar", "show_confirmation", "get_signed_token", "open_modal",
    "close_modal", "redirect_to", "get_metadata", "show_floating_window", "hide_floating_window",
    "set_notification", "set_focus_mode"
  ];
  var KNOWN_EVENTS = ["visibility", "close_custom_modal", "user_settings_change"];

  function recorder(host) {
    return function (entry) {
      entry.time = Date.now();
      host.calls.push(entry);
      return entry;
    };
  }

  function emitter(host, record) {
    return function (event, data) {
      var ports = host.listeners[event] || [];
      ports.forEach(function (port) {
        port.postMessage({ data: data });
      });
      record({ type: "emit", event: event, args: data, delivered: ports.length });
      return ports.length;
    };
  }

  function fetchToken(url) {
    return fetch(url, { cache: "no-store", credentials: "same-origin" }).then(function (response) {
      if (!response.ok) {
        throw new Error("Could not get a signed token (HTTP " + response.status + ")");
      }
      return response.json();
    }).then(function (body) {
      return { token: body.token };
    });
  }

  function showSnackbar(host, args) {
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

  // One confirmation dialog at a time: a second show_confirmation waits for the first answer.
  function confirmer(host) {
    var queue = Promise.resolve();
    return function (args) {
      var ask = function () {
        return new Promise(function (resolve) {
          var dialog = document.getElementById("pd-confirm");
          var entry = {
            title: args && typeof args.title === "string" ? args.title : "",
            description: args && typeof args.description === "string" ? args.description : "",
            confirmed: null,
            time: Date.now()
          };
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
      var answer = queue.then(ask);
      queue = answer.catch(function () {});
      return answer;
    };
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

  /*
   * One message from the app's frame (already checked by the page). ``page``:
   *   record(entry), initialized() -> bool, run(command, args) -> reply data or a promise of it,
   *   other(payload) for what is neither a command nor a listener.
   */
  function receive(host, payload, port, page) {
    if (payload.type === "listener") {
      var listening = page.record({ type: "listener", event: payload.event });
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
      page.other(payload);
      return;
    }
    var entry = page.record({ type: "command", command: payload.command, args: payload.args });
    var reply = replier(port);
    if (KNOWN_COMMANDS.indexOf(payload.command) === -1) {
      entry.error = "Invalid command";
      reply({ error: entry.error });
      return;
    }
    if (payload.command !== "initialize" && !page.initialized()) {
      entry.error = "SDK is not initialized";
      reply({ error: entry.error });
      return;
    }
    Promise.resolve()
      .then(function () { return page.run(payload.command, payload.args); })
      .then(function (data) {
        entry.reply = data;
        reply({ data: data });
      }, function (error) {
        entry.error = error && error.message ? error.message : String(error);
        reply({ error: entry.error });
      });
  }

  window.PdHostSdk = {
    // Pipedrive's own pages for a record the app names in redirect_to: a Person ("contacts") or a Deal.
    RECORD_PAGES: { contacts: "/person/", deals: "/deal/" },
    recorder: recorder,
    emitter: emitter,
    fetchToken: fetchToken,
    showSnackbar: showSnackbar,
    confirmer: confirmer,
    receive: receive
  };
})();
