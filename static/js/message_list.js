// Message lists (the panel's conversation, the chat view's history; marked data-message-list) open at the
// newest message. When htmx swaps in more (a poll, a send, older messages), a reader who was at the bottom
// follows to the newest; a reader who had scrolled up keeps their place (the message at the top of the list
// stays where it was on screen) and a "New messages" button (data-new-messages-for="<list id>") offers the
// way down to what arrived below.
(function () {
  "use strict";
  const NEAR = 8; // px above the bottom that still count as "at the bottom"
  const before = {}; // list id -> where the reader was just before a swap
  const following = {}; // list id -> whether the reader is at the bottom (images that load keep them there)

  // A list that changes size (the chat view's history shares the window with the reply box, which grows
  // with a notice) keeps a reader who follows at the newest message.
  const resized = new ResizeObserver(function (entries) {
    entries.forEach(function (entry) {
      if (following[entry.target.id]) {
        toNewest(entry.target);
      }
    });
  });

  function listOf(element) {
    return element && element.closest ? element.closest("[data-message-list]") : null;
  }

  function bubbles(list) {
    return Array.prototype.slice.call(list.querySelectorAll(".bubble"));
  }

  function keyOf(bubble) {
    return bubble.dataset.key || bubble.dataset.messageId || "";
  }

  function atBottom(list) {
    return list.scrollHeight - list.scrollTop - list.clientHeight <= NEAR;
  }

  function newMessagesButton(list) {
    return document.querySelector('[data-new-messages-for="' + list.id + '"]');
  }

  function lists() {
    return Array.prototype.slice.call(document.querySelectorAll("[data-message-list]"));
  }

  function observeSizes() {
    resized.disconnect(); // lists replaced by a swap are gone: watch the ones in the page now
    lists().forEach(function (list) { resized.observe(list); });
  }

  function toNewest(list) {
    list.scrollTop = list.scrollHeight;
    following[list.id] = true;
    const button = newMessagesButton(list);
    if (button) {
      button.hidden = true;
    }
  }

  // The reader's place: the first message still showing at the top, how far down it stands, and how many
  // messages there are from it to the end (more of them after a swap: something new arrived below).
  function place(list) {
    const top = list.getBoundingClientRect().top;
    const all = bubbles(list);
    const anchor = all.find(function (bubble) { return bubble.getBoundingClientRect().bottom > top; });
    return {
      // A reader who follows stays following even when the list has just shrunk (the form under it grew)
      // and the size watcher has not put them back at the newest message yet.
      bottom: following[list.id] === true || atBottom(list),
      scrollTop: list.scrollTop,
      key: anchor ? keyOf(anchor) : "",
      offset: anchor ? anchor.getBoundingClientRect().top - top : 0,
      fromAnchor: anchor ? all.length - all.indexOf(anchor) : 0,
    };
  }

  function keepPlace(list, was) {
    const all = bubbles(list);
    const anchor = was.key ? all.find(function (bubble) { return keyOf(bubble) === was.key; }) : null;
    if (!anchor) {
      list.scrollTop = was.scrollTop;
      return;
    }
    list.scrollTop += anchor.getBoundingClientRect().top - list.getBoundingClientRect().top - was.offset;
    const button = newMessagesButton(list);
    if (button && all.length - all.indexOf(anchor) > was.fromAnchor) {
      button.hidden = false;
    }
  }

  document.addEventListener("htmx:beforeSwap", function (event) {
    const list = listOf(event.detail.target);
    if (list) {
      before[list.id] = place(list);
    }
  });

  // After an outerHTML swap the list is a new element (scrolled to its top): find it by its id. htmx
  // announces each swapped-in element; the first announcement restores the place, once.
  document.addEventListener("htmx:afterSwap", function (event) {
    const id = Object.keys(before).find(function (listId) {
      const list = document.getElementById(listId);
      return list && (list === event.target || list.contains(event.target));
    });
    if (!id) {
      return;
    }
    const was = before[id];
    delete before[id];
    const list = document.getElementById(id);
    observeSizes();
    if (was.bottom) {
      toNewest(list);
    } else {
      keepPlace(list, was);
    }
  });

  // Scroll events do not bubble: listen while they pass the document on their way down.
  document.addEventListener("scroll", function (event) {
    const list = event.target;
    if (!list.matches || !list.matches("[data-message-list]")) {
      return;
    }
    following[list.id] = atBottom(list);
    const button = newMessagesButton(list);
    if (button && following[list.id]) {
      button.hidden = true;
    }
  }, true);

  // An image that loads in a list the reader follows makes it taller: stay at the newest message.
  document.addEventListener("load", function (event) {
    const list = listOf(event.target);
    if (list && following[list.id]) {
      toNewest(list);
    }
  }, true);

  document.addEventListener("click", function (event) {
    const button = event.target.closest && event.target.closest("[data-new-messages-for]");
    const list = button && document.getElementById(button.dataset.newMessagesFor);
    if (list) {
      toNewest(list);
    }
  });

  lists().forEach(toNewest);
  observeSizes();
})();
