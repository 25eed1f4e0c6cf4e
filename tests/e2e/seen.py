"""What a person sees, for browser tests: ``to_be_visible()`` only says an element is rendered, not that it
is on screen (a bubble 760 px below the bottom of its scrolled list is "visible"). These helpers measure
bounding boxes instead:

- ``sight(locator)``: the element's box and the part of it left after cutting by every ancestor that clips
  (scroll containers), by its frame's viewport, by the iframes it sits in and by the browser window;
- ``in_view(locator)`` / ``expect_in_view(locator)``: whether (until) the whole element is on screen;
- ``texts_top_to_bottom(locator)`` / ``texts_in_view(locator)``: texts in the order they read on screen;
- ``scroll_position(locator)``: a scroll container's scrollTop, scrollHeight and clientHeight.

Boxes are in CSS pixels of the element's own frame. A hidden element (``display: none``, ``visibility:
hidden``, ``opacity: 0``) has nothing in view.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from typing import Any

from playwright.sync_api import ElementHandle, Frame, Locator
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

TOLERANCE = 1.0  # px: sub-pixel layout may cut a hair off a box that a person sees whole

# One element, in its frame: its box, the part of it not cut off (or null), and where its content starts
# (for an iframe: the origin of the frame inside it). ``outer`` is the part of this frame's viewport the
# window shows (null in the top frame).
_MEASURE = """(el, outer) => {
  const cut = (a, b) => a && b && {
    left: Math.max(a.left, b.left), top: Math.max(a.top, b.top),
    right: Math.min(a.right, b.right), bottom: Math.min(a.bottom, b.bottom),
  };
  const r = el.getBoundingClientRect();
  const box = {left: r.left, top: r.top, right: r.right, bottom: r.bottom};
  const style = getComputedStyle(el);
  const origin = {
    left: r.left + el.clientLeft + parseFloat(style.paddingLeft),
    top: r.top + el.clientTop + parseFloat(style.paddingTop),
  };
  const shown = el.isConnected && el.checkVisibility({opacityProperty: true, visibilityProperty: true});
  let seen = shown ? box : null;
  for (let up = el.parentElement; seen && up; up = up.parentElement) {
    const s = getComputedStyle(up);
    if (s.overflowX !== "visible" || s.overflowY !== "visible") {
      const u = up.getBoundingClientRect();
      const left = u.left + up.clientLeft, top = u.top + up.clientTop;
      seen = cut(seen, {left: left, top: top, right: left + up.clientWidth, bottom: top + up.clientHeight});
    }
  }
  const page = document.documentElement;
  seen = cut(seen, {left: 0, top: 0, right: page.clientWidth, bottom: page.clientHeight});
  if (outer) {
    seen = cut(seen, outer);
  }
  if (seen && (seen.right <= seen.left || seen.bottom <= seen.top)) {
    seen = null;
  }
  return {box: box, seen: seen, origin: origin, text: (el.innerText || "").trim()};
}"""

# Wait in the browser (on animation frames) until the element is wholly seen, or is gone (replaced by a
# swap: the caller finds it again).
_WHOLLY_OR_GONE = f"""({{el, outer, tolerance}}) => {{
  if (!el.isConnected) return true;
  const m = ({_MEASURE})(el, outer);
  return !!m.seen && m.seen.left - m.box.left <= tolerance && m.box.right - m.seen.right <= tolerance &&
    m.seen.top - m.box.top <= tolerance && m.box.bottom - m.seen.bottom <= tolerance;
}}"""


@dataclass(frozen=True, slots=True)
class Box:
    left: float
    top: float
    right: float
    bottom: float

    @property
    def height(self) -> float:
        return self.bottom - self.top

    def __str__(self) -> str:
        return f"x {self.left:.0f}..{self.right:.0f}, y {self.top:.0f}..{self.bottom:.0f}"


@dataclass(frozen=True, slots=True)
class Sight:
    """Where an element is and how much of it a person sees, in its frame's CSS pixels."""

    box: Box
    seen: Box | None  # what is left of ``box`` after every cut; None when nothing of it shows
    text: str

    @property
    def wholly(self) -> bool:
        seen, box = self.seen, self.box
        return seen is not None and all(
            abs(a - b) <= TOLERANCE
            for a, b in (
                (seen.left, box.left),
                (seen.top, box.top),
                (seen.right, box.right),
                (seen.bottom, box.bottom),
            )
        )

    @property
    def partly(self) -> bool:
        return self.seen is not None

    def __str__(self) -> str:
        return f"{self.text[:40]!r} at {self.box}, in view: {self.seen or 'nothing'}"


@dataclass(frozen=True, slots=True)
class Scroll:
    top: float  # scrollTop
    height: float  # scrollHeight
    client_height: float  # clientHeight: how much of it shows at once

    @property
    def below(self) -> float:
        """How far the content goes on below what shows."""
        return self.height - self.top - self.client_height

    @property
    def at_bottom(self) -> bool:
        return self.below <= 2

    @property
    def scrollable(self) -> bool:
        return self.height > self.client_height + 1


def _box(raw: dict[str, float] | None) -> Box | None:
    return Box(raw["left"], raw["top"], raw["right"], raw["bottom"]) if raw else None


def _window_part(frame: Frame) -> dict[str, float] | None:
    """The part of ``frame``'s viewport that the window shows, in ``frame``'s coordinates (None for the top
    frame: its viewport is the window)."""
    parent = frame.parent_frame
    if parent is None:
        return None
    iframe = frame.frame_element()
    try:
        measured: dict[str, Any] = iframe.evaluate(_MEASURE, _window_part(parent))
    finally:
        iframe.dispose()
    seen, origin = measured["seen"], measured["origin"]
    if seen is None:
        return {"left": 0, "top": 0, "right": 0, "bottom": 0}
    return {
        "left": seen["left"] - origin["left"],
        "top": seen["top"] - origin["top"],
        "right": seen["right"] - origin["left"],
        "bottom": seen["bottom"] - origin["top"],
    }


def _sight(handle: ElementHandle) -> Sight:
    frame = handle.owner_frame()
    assert frame is not None, "the element is in no frame"
    measured: dict[str, Any] = handle.evaluate(_MEASURE, _window_part(frame))
    box = _box(measured["box"])
    assert box is not None
    return Sight(box, _box(measured["seen"]), measured["text"])


def sight(locator: Locator, timeout: float = 5_000) -> Sight:
    """The element (exactly one) as a person sees it now."""
    handle = locator.element_handle(timeout=timeout)
    try:
        return _sight(handle)
    finally:
        handle.dispose()


def in_view(locator: Locator, timeout: float = 5_000) -> bool:
    """Whether the whole element is on screen now: inside every scroll container around it, its frame,
    the iframes around that and the window."""
    return sight(locator, timeout).wholly


def expect_in_view(locator: Locator, timeout: float = 15_000) -> None:
    """Wait until the whole element is on screen (``in_view``); fail saying where it is if it never is.
    The browser checks on each animation frame; an element replaced meanwhile is found again."""
    deadline = time.monotonic() + timeout / 1000
    last = "not found"
    while True:
        left_ms = (deadline - time.monotonic()) * 1000
        if left_ms <= 0:
            raise AssertionError(f"never wholly in view within {timeout:.0f} ms: {last}")
        try:
            handle = locator.element_handle(timeout=left_ms)
        except PlaywrightTimeoutError:
            continue
        try:
            frame = handle.owner_frame()
            assert frame is not None, "the element is in no frame"
            arg = {"el": handle, "outer": _window_part(frame), "tolerance": TOLERANCE}
            with contextlib.suppress(PlaywrightTimeoutError):  # then say where it is
                frame.wait_for_function(_WHOLLY_OR_GONE, arg=arg, timeout=left_ms)
            if handle.evaluate("el => el.isConnected"):
                seen = _sight(handle)
                if seen.wholly:
                    return
                last = str(seen)
        finally:
            handle.dispose()


def _frame_of(locator: Locator, timeout: float) -> Frame:
    handle = locator.first.element_handle(timeout=timeout)
    try:
        frame = handle.owner_frame()
    finally:
        handle.dispose()
    assert frame is not None, "the elements are in no frame"
    return frame


def _sights(locator: Locator, timeout: float) -> list[Sight]:
    outer = _window_part(_frame_of(locator, timeout))
    measured: list[dict[str, Any]] = locator.evaluate_all(
        f"(els, outer) => els.map(el => ({_MEASURE})(el, outer))", outer
    )
    sights = []
    for item in measured:
        box = _box(item["box"])
        assert box is not None
        if box.height > 0:  # not rendered (display: none) takes no place on screen
            sights.append(Sight(box, _box(item["seen"]), item["text"]))
    return sorted(sights, key=lambda s: (s.box.top, s.box.left))


def texts_top_to_bottom(locator: Locator, timeout: float = 5_000) -> list[str]:
    """The texts of every element the locator matches, in the order they stand on screen from top to
    bottom (left to right on one line), whether scrolled into view or not."""
    return [s.text for s in _sights(locator, timeout)]


def texts_in_view(locator: Locator, timeout: float = 5_000) -> list[str]:
    """The texts of the matched elements a person sees whole right now, top to bottom."""
    return [s.text for s in _sights(locator, timeout) if s.wholly]


def scroll_position(locator: Locator) -> Scroll:
    """A scroll container's position: how far it is scrolled, how tall its content is, how much shows."""
    top, height, client = locator.evaluate("el => [el.scrollTop, el.scrollHeight, el.clientHeight]")
    return Scroll(float(top), float(height), float(client))
