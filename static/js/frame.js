// WaPipe pages inside Pipedrive's iframes: initialise the App Extensions SDK at once (Pipedrive hides
// a frame that has not initialised within 10 s), follow the user's theme, size the frame to its content
// (and the content to the frame where Pipedrive caps its height), and send a fresh signed Pipedrive
// token with every htmx request (X-Pipedrive-Token).
(function () {
  "use strict";
  const params = new URLSearchParams(window.location.search);
  const body = document.body;
  const maxHeight = Number(body.dataset.maxHeight || 750);
  let token = params.get("token") || "";
  let sdk = null;

  function applyTheme(theme) {
    document.documentElement.dataset.theme = theme === "dark" ? "dark" : "light";
  }
  applyTheme(params.get("theme"));

  function contentHeight() {
    // The body's own height: the document's grows with the frame and would never let it shrink.
    const height = Math.ceil(body.getBoundingClientRect().height);
    return Math.min(maxHeight, Math.max(100, height));
  }

  // Pipedrive caps how tall a frame may grow (the page's data-max-height). When the page is taller, the
  // lists marked data-fit-shrink (they scroll in boxes of their own) give up height, down to the least
  // their attribute names, so the whole page stays inside its frame. It depends on the content alone,
  // never on the frame's current height, so sizing the frame cannot feed back into it.
  function fitToFrame() {
    const boxes = Array.from(document.querySelectorAll("[data-fit-shrink]"));
    boxes.forEach(function (box) { box.style.maxHeight = ""; });
    let over = Math.ceil(body.getBoundingClientRect().height) - maxHeight;
    boxes.forEach(function (box) {
      const height = box.getBoundingClientRect().height;
      const cut = Math.min(over, Math.max(0, height - Number(box.dataset.fitShrink || 120)));
      if (cut > 0) {
        box.style.maxHeight = Math.floor(height - cut) + "px";
        over -= cut;
      }
    });
  }

  fitToFrame(); // before the first size is asked for; the observer below keeps it fitted

  const ready = (async function () {
    if (!window.AppExtensionsSDK || !params.get("id")) {
      return null; // opened outside Pipedrive (a direct link): nothing to talk to
    }
    sdk = await new window.AppExtensionsSDK().initialize({ size: { height: contentHeight() } });
    body.dataset.sdk = "ready";
    sdk.listen("user_settings_change", function (event) {
      applyTheme(event && event.data && event.data.theme);
    });
    let last = 0;
    new ResizeObserver(function () {
      fitToFrame();
      const height = contentHeight();
      if (height !== last) {
        last = height;
        sdk.execute("resize", { height: height }).catch(function () {});
      }
    }).observe(body);
    document.addEventListener("htmx:afterSettle", fitToFrame); // a swapped-in list starts unfitted
    return sdk;
  })();

  function expiresAt(jwt) {
    try {
      const part = jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      return JSON.parse(atob(part)).exp * 1000;
    } catch (error) {
      return 0;
    }
  }

  async function freshToken() {
    if (token && expiresAt(token) - Date.now() > 60000) {
      return token;
    }
    const connected = await ready;
    if (connected) {
      const reply = await connected.execute("get_signed_token");
      token = reply.token;
    }
    return token;
  }

  // Ask through Pipedrive's own dialog where the page says hx-confirm (window.confirm outside it).
  async function confirmed(question) {
    if (!question) {
      return true;
    }
    const connected = await ready;
    if (!connected) {
      return window.confirm(question);
    }
    const answer = await connected.execute("show_confirmation", { title: question, okText: "Yes" });
    return Boolean(answer && answer.confirmed);
  }

  // htmx asks before every request; answer once it is confirmed and a fresh token is at hand. A swap
  // may replace the asking element while the dialog is open (a preview coming back): htmx sends nothing
  // for an element no longer on the page, so the click goes to its replacement (same id), asked again
  // only when the replacement's question differs from the one answered.
  document.addEventListener("htmx:confirm", function (event) {
    event.preventDefault();
    const elt = event.detail.elt;
    const question = event.detail.question;
    function issue() {
      freshToken().finally(function () {
        event.detail.issueRequest(true);
      });
    }
    if (question && elt.dataset.confirmed === question) {
      delete elt.dataset.confirmed;
      issue();
      return;
    }
    confirmed(question).then(function (yes) {
      if (!yes) {
        return;
      }
      const replacement = question && !elt.isConnected && elt.id ? document.getElementById(elt.id) : null;
      if (replacement) {
        replacement.dataset.confirmed = question;
        replacement.click();
        return;
      }
      issue();
    });
  });
  document.addEventListener("htmx:configRequest", function (event) {
    if (token) {
      event.detail.headers["X-Pipedrive-Token"] = token;
    }
  });

  window.wapipeFrame = { ready: ready, freshToken: freshToken, snackbar: async function (message) {
    const connected = await ready;
    if (connected) {
      await connected.execute("show_snackbar", { message: message });
    }
  } };
})();
