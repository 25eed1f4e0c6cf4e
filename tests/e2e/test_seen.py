"""The "what a person sees" helpers (``tests/e2e/seen.py``) on a small static page in Chromium: a long list
in a scroll container, content below the window, an iframe cut by the window's bottom, a list laid out
in reverse; each helper says "not in view" below the fold and "in view" once scrolled there."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.seen import (
    expect_in_view,
    in_view,
    scroll_position,
    sight,
    texts_in_view,
    texts_top_to_bottom,
)

# The window is 1100 x 800 (conftest). The list shows 5 of its 30 rows (40 px each) from y = 20; the
# iframe starts 700 px down, so only its top 100 px are in the window until the page scrolls.
FRAME = (
    "<!doctype html><style>body{margin:0} p{margin:0;height:40px}</style>"
    "<p id='top'>frame top</p><div style='height:100px'></div><p id='low'>frame low</p>"
)
PAGE = f"""<!doctype html>
<style>
  body {{ margin: 0; }}
  #list {{ height: 200px; overflow-y: auto; margin-top: 20px; width: 300px; }}
  #list p, #reversed p {{ margin: 0; height: 40px; }}
  #reversed {{ display: flex; flex-direction: column-reverse; width: 300px; }}
  iframe {{ position: absolute; top: 700px; left: 400px; width: 300px; height: 300px; border: 0; }}
</style>
<div id="list">{"".join(f"<p id='row{n}'>row {n}</p>" for n in range(30))}</div>
<div id="reversed"><p>first in the page</p><p>second in the page</p><p>third in the page</p></div>
<p id="ghost" style="visibility: hidden">hidden</p>
<div style="height: 1500px"></div>
<p id="far">far below</p>
<iframe srcdoc="{FRAME}"></iframe>
"""


@pytest.fixture
def static_page(page: Page) -> Page:
    page.set_content(PAGE)
    expect(page.frame_locator("iframe").locator("#low")).to_have_count(1)
    return page


def test_a_row_below_its_scrolled_lists_bottom_is_not_in_view_though_it_counts_as_visible(
    static_page: Page,
) -> None:
    page = static_page
    row = page.locator("#row10")  # at y 420..460: inside the window, 200 px below the list's bottom
    expect(row).to_be_visible()  # what the old assertions checked: true, yet nobody can see it
    assert not in_view(row)
    assert sight(row).seen is None
    assert in_view(page.locator("#row0"))

    page.locator("#list").evaluate("list => { list.scrollTop = 10 * 40; }")
    assert in_view(row)
    assert not in_view(page.locator("#row0"))


def test_a_row_cut_by_its_lists_bottom_is_partly_in_view_only(static_page: Page) -> None:
    page = static_page
    page.locator("#list").evaluate("list => { list.scrollTop = 20; }")  # row 5 shows its top 20 px
    row = page.locator("#row5")
    assert sight(row).partly and not sight(row).wholly
    assert not in_view(row)
    assert texts_in_view(page.locator("#list p")) == ["row 1", "row 2", "row 3", "row 4"]


def test_a_list_scrolled_out_of_the_window_shows_nothing(static_page: Page) -> None:
    page = static_page
    row = page.locator("#row0")
    assert in_view(row)
    page.evaluate("window.scrollTo(0, 300)")  # the list (20..220) is above the window now
    assert not in_view(row)
    assert texts_in_view(page.locator("#list p")) == []


def test_content_below_the_window_comes_into_view_when_the_page_scrolls(static_page: Page) -> None:
    page = static_page
    far = page.locator("#far")
    expect(far).to_be_visible()
    assert not in_view(far)
    far.scroll_into_view_if_needed()
    assert in_view(far)


def test_a_hidden_element_is_not_in_view_where_it_would_be(static_page: Page) -> None:
    ghost = static_page.locator("#ghost")
    assert sight(ghost).box.top < 800
    assert not in_view(ghost)


def test_an_element_in_an_iframe_is_cut_by_the_window_around_the_iframe(static_page: Page) -> None:
    page = static_page
    frame = page.frame_locator("iframe")
    top, low = frame.locator("#top"), frame.locator("#low")
    assert in_view(top)  # 700..740 of the window
    assert not in_view(low)  # inside the iframe's 300 px, but at 840..880: below the window
    page.evaluate("window.scrollTo(0, 200)")
    assert in_view(low)
    assert in_view(top)


def test_texts_read_in_screen_order_not_page_order(static_page: Page) -> None:
    page = static_page
    assert texts_top_to_bottom(page.locator("#reversed p")) == [
        "third in the page",
        "second in the page",
        "first in the page",
    ]
    rows = texts_top_to_bottom(page.locator("#list p"))
    assert rows == [f"row {n}" for n in range(30)]  # in view or not
    assert texts_in_view(page.locator("#list p")) == [f"row {n}" for n in range(5)]


def test_the_scroll_position_of_a_container(static_page: Page) -> None:
    page = static_page
    scroll = scroll_position(page.locator("#list"))
    assert (scroll.top, scroll.height, scroll.client_height) == (0, 1200, 200)
    assert scroll.scrollable and not scroll.at_bottom and scroll.below == 1000
    page.locator("#list").evaluate("list => { list.scrollTop = list.scrollHeight; }")
    scroll = scroll_position(page.locator("#list"))
    assert scroll.top == 1000 and scroll.at_bottom


def test_expect_in_view_waits_for_a_row_to_be_scrolled_into_view_even_when_it_is_replaced(
    static_page: Page,
) -> None:
    page = static_page
    # Later, the page replaces the list's rows (as an htmx swap does) and scrolls to the bottom.
    page.evaluate(
        """() => setTimeout(() => {
             const list = document.getElementById("list");
             list.innerHTML = list.innerHTML;
             list.scrollTop = list.scrollHeight;
           }, 300)"""
    )
    row = page.locator("#row29")
    assert not in_view(row)
    expect_in_view(row, timeout=5_000)
    assert in_view(row)


def test_expect_in_view_fails_saying_where_the_element_is(static_page: Page) -> None:
    started = time.monotonic()
    where = r"never wholly in view within 500 ms: 'row 20' at .*y 820\.\.860"
    with pytest.raises(AssertionError, match=where):
        expect_in_view(static_page.locator("#row20"), timeout=500)
    assert time.monotonic() - started < 5
