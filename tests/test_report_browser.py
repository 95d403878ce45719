"""The complaint pack's page in a real browser: Debian's Chromium, driven by Playwright.

Chromium is the system's (``.ci/run`` installs the Debian package); Playwright never downloads
a browser here. The page of a demo-like flood must load with no console error and no request
but itself, show its chart, campaign table and flagged messages, run nothing an SMS carried, and
print to A4 on a sensible number of pages. A screenshot is kept in the test's tmp dir.
"""

from __future__ import annotations

import re

import pytest
from cli_helpers import Line
from conftest import require_tool
from report_helpers import GREETING, ONERROR, SCRIPT, THREAT, demo_like_flood, play

pytestmark = pytest.mark.slow

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: One PDF page object per printed page (Chromium writes them uncompressed).
PDF_PAGE = re.compile(rb"/Type\s*/Page[^s]")


@pytest.fixture(scope="module")
def browser():
    executable = require_tool("chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def report_html(tmp_path_factory):
    line = Line(tmp_path_factory.mktemp("line"))
    with line.store() as store:
        play(store, line.config, demo_like_flood())
    target = tmp_path_factory.mktemp("pack") / "plainte"
    result = line.invoke("report", "--output", str(target))
    assert result.exit_code == 0, result.output
    return target / "report.html"


@pytest.fixture(scope="module")
def opened(browser, report_html):
    """The page loaded, with what it logged and requested while loading."""
    page = browser.new_page(viewport={"width": 1100, "height": 1500})
    console, errors, requests = [], [], []
    page.on("console", lambda message: console.append((message.type, message.text)))
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("request", lambda request: requests.append(request.url))
    page.goto(report_html.as_uri())
    page.wait_for_load_state("load")
    yield page, console, errors, requests
    page.close()


def test_the_page_loads_with_no_console_error_and_requests_nothing_else(opened, report_html):
    _, console, errors, requests = opened
    assert [text for kind, text in console if kind in ("error", "warning")] == []
    assert errors == []
    assert requests == [report_html.as_uri()]


def test_the_chart_is_drawn(opened):
    page = opened[0]
    chart = page.locator("#chart svg")
    assert chart.is_visible()
    box = chart.bounding_box()
    assert box["width"] > 600
    assert box["height"] > 150
    assert page.locator("#chart svg path").count() > 20  # bars, axes, ticks, reply dots


def test_the_campaign_table_and_the_flagged_messages_are_shown(opened):
    page = opened[0]
    campaigns = page.locator("#campaign-table tbody tr")
    assert campaigns.count() == 1
    assert "Gagnez un iPhone" in campaigns.first.inner_text()
    flagged = page.locator("#flagged-table")
    assert flagged.is_visible()
    assert THREAT in flagged.inner_text()
    assert GREETING not in flagged.inner_text()


def test_sms_carrying_script_and_onerror_show_as_text_and_run_nothing(opened):
    page = opened[0]
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.locator("script, img, iframe, object, embed").count() == 0
    log = page.locator("#log").inner_text()
    assert SCRIPT in log
    assert ONERROR in log


def test_the_page_prints_to_a4_on_a_sensible_number_of_pages(opened, tmp_path):
    page = opened[0]
    pdf = page.pdf(format="A4", print_background=True)
    (tmp_path / "report.pdf").write_bytes(pdf)
    pages = len(PDF_PAGE.findall(pdf))
    rows = page.locator("#log tbody tr").count()
    # The front matter takes a few pages; the log fits 30 to 60 rows a page.
    assert rows // 60 + 3 <= pages <= rows // 30 + 12, pages


def test_a_screenshot_is_kept(opened, tmp_path):
    page = opened[0]
    shot = tmp_path / "report.png"
    page.screenshot(path=str(shot), full_page=False)
    page.locator("#flagged").screenshot(path=str(tmp_path / "flagged.png"))
    assert shot.read_bytes().startswith(b"\x89PNG")
    print(f"screenshot: {shot}")
