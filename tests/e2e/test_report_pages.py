"""Every HTML page modelyard writes, opened in a real browser (the system's Chromium, driven
by Playwright) at a desktop's width and a phone's: nothing wider than the screen, every chart
with axis titles and tick labels, failures before passes, an overview on top, no empty table
row or header, no console error and no request to anything but the page itself.

Screenshots of each page at each width are saved in the test's folder; their paths are
printed (``pytest -s`` shows them)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.fixtures import report_pages

CHROMIUM = "/usr/bin/chromium"  # Debian's package: `make browser` (.ci/browser.sh) installs it
pytestmark = pytest.mark.slow  # a browser per module, a page built from real data per test
WIDTHS = {"desktop": 1280, "phone": 390}

# What the page looks like to a reader, measured in the browser.
_INSPECT = """(screen) => {
  const text = (e) => (e.textContent || '').trim();
  const charts = [...document.querySelectorAll('svg')].map((svg) => ({
    label: svg.getAttribute('aria-label') || '',
    role: svg.getAttribute('role') || '',
    axisTitles: [...svg.querySelectorAll('text.title')].map(text).filter(Boolean).length,
    tickLabels: [...svg.querySelectorAll('text:not(.title)')].map(text).filter(Boolean).length,
    width: svg.getBoundingClientRect().width,
    height: svg.getBoundingClientRect().height,
    smallestText: Math.min(...[...svg.querySelectorAll('text')].map(
      (t) => t.getBoundingClientRect().height)),
  }));
  const wide = [...document.body.querySelectorAll('*')].filter((e) => {
    if (e.closest('.scroll')) return false;  // tables scroll inside their own box
    const r = e.getBoundingClientRect();
    return r.right > screen + 0.5 || r.left < -0.5;
  }).map((e) => e.tagName + (e.id ? '#' + e.id : '') + ' ' + text(e).slice(0, 40));
  return {
    scrollWidth: document.scrollingElement.scrollWidth,
    innerWidth: innerWidth,
    charts: charts,
    wide: wide,
    emptyRows: [...document.querySelectorAll('tr')].filter((r) => !text(r)).length,
    emptyHeaders: [...document.querySelectorAll('th')].filter((h) => !text(h)).length,
    overview: !!document.querySelector('#overview li'),
    h1: text(document.querySelector('h1') || document.body),
  };
}"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make browser` (.ci/browser.sh) installs it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        found = p.chromium.launch(executable_path=CHROMIUM)
        yield found
        found.close()


def _open(browser: Any, path: Path, width: int, shot: Path) -> dict[str, Any]:
    """Load ``path`` at ``width``, refusing every request but the page's own; a full-page
    screenshot goes to ``shot``. Returns what ``_INSPECT`` measured, with the console errors
    and the requests made."""
    phone = width < 600
    context = browser.new_context(
        viewport={"width": width, "height": 844 if phone else 900},
        is_mobile=phone,  # a phone honours the page's viewport meta
        has_touch=phone,
    )
    page = context.new_page()
    url = path.resolve().as_uri()
    outside: list[str] = []
    errors: list[str] = []

    def route(r: Any) -> None:
        if r.request.url == url:
            r.continue_()
        else:
            outside.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.on("request", lambda req: None if req.url == url else outside.append(req.url))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url, wait_until="load")
    found: dict[str, Any] = page.evaluate(_INSPECT, width)
    page.screenshot(path=str(shot), full_page=True)
    found["order"] = page.evaluate(
        """() => ({
          failed: document.querySelector('#failed') ? 1 : 0,
          failedFirst: !!(document.querySelector('#failed') && document.querySelector('#passed')
            && (document.querySelector('#failed').compareDocumentPosition(
                  document.querySelector('#passed')) & Node.DOCUMENT_POSITION_FOLLOWING)),
          passedOpen: !!(document.querySelector('details#passed') || {}).open,
        })"""
    )
    found["drift_cells"] = page.eval_on_selector_all(
        "h2 + .scroll tbody tr td:nth-child(2)", "cells => cells.map(c => c.textContent.trim())"
    )
    context.close()
    found["errors"], found["outside"] = errors, sorted(set(outside))
    found["width"] = width
    return found


def _check(found: dict[str, Any], name: str, width: str) -> None:
    where = f"{name} at {width} width"
    # a phone zooms out to fit a page wider than itself: innerWidth then grows past the screen
    assert found["innerWidth"] == found["width"], (where, found["innerWidth"], found["wide"])
    assert found["scrollWidth"] <= found["innerWidth"], (where, found["wide"])
    assert not found["wide"], (where, found["wide"])
    assert found["errors"] == [], (where, found["errors"])
    assert found["outside"] == [], (where, found["outside"])
    assert found["emptyRows"] == 0 and found["emptyHeaders"] == 0, where
    assert found["overview"], f"{where}: no overview"
    for chart in found["charts"]:
        assert chart["role"] == "img" and chart["label"], (where, chart)
        assert chart["axisTitles"] >= 2 and chart["tickLabels"] >= 4, (where, chart)
        assert chart["smallestText"] >= 9, (where, "chart text too small to read", chart)
        assert chart["width"] <= 620 and chart["height"] <= 480, (where, "chart too big", chart)


PAGES: dict[str, Callable[[Path, str], Path]] = {
    "drift": lambda folder, uri: report_pages.drift_page(folder),
    "validation": lambda folder, uri: report_pages.validation_page(folder),
    "profile": report_pages.profile_page,
    "model-card": report_pages.model_card_page,
    "performance": report_pages.performance_page,
    "monitor-history": report_pages.history_page,
}


@pytest.mark.parametrize("name", list(PAGES))
def test_each_page_reads_well_on_a_desktop_and_a_phone(
    name: str, browser: Any, tmp_path: Path
) -> None:
    uri = f"sqlite:///{tmp_path}/yard.db"
    path = PAGES[name](tmp_path, uri)
    seen = {}
    for width_name, width in WIDTHS.items():
        shot = tmp_path / f"{name}-{width_name}.png"
        seen[width_name] = found = _open(browser, path, width, shot)
        print(f"screenshot: {shot}")
        _check(found, name, width_name)
    desktop = seen["desktop"]
    if name in ("drift", "profile", "performance", "monitor-history"):
        assert desktop["charts"], f"{name}: no charts"
    if name == "validation":
        assert desktop["order"]["failed"] and desktop["order"]["failedFirst"]
        assert not desktop["order"]["passedOpen"]  # passes start collapsed
        assert desktop["h1"].startswith("Validation of")
    if name == "drift":
        cells = desktop["drift_cells"]
        drifted = [c == "yes" for c in cells]
        assert any(drifted) and drifted == sorted(drifted, reverse=True), cells


def test_the_checks_catch_a_page_that_reaches_out_or_overflows(
    browser: Any, tmp_path: Path
) -> None:
    """The checks above can fail: a page that loads an image from elsewhere, logs an error
    and is wider than a phone is caught on every count."""
    bad = tmp_path / "bad.html"
    bad.write_text(
        "<!doctype html><html><head><meta name='viewport' content='width=device-width'>"
        "</head><body><div id='overview'><li>x</li></div><table><tr></tr></table>"
        "<img src='http://127.0.0.1:9/x.png'><div style='width:900px'>wide</div>"
        "<svg role='img' aria-label='a chart'><rect width='5' height='5'/></svg>"
        "<script>console.error('broken')</script></body></html>"
    )
    found = _open(browser, bad, WIDTHS["phone"], tmp_path / "bad.png")
    assert found["scrollWidth"] > found["width"] and found["wide"]
    assert found["outside"] == ["http://127.0.0.1:9/x.png"]
    assert "broken" in found["errors"]
    assert found["emptyRows"] == 1
    assert found["charts"][0]["axisTitles"] == 0
    with pytest.raises(AssertionError):
        _check(found, "bad", "phone")
