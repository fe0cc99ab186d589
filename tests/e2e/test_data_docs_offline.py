"""The Great Expectations Data Docs of a run, opened in a real headless Chromium with no network:
every request that is not a file is recorded and aborted, and the browser's proxy is a closed port.

Before bdw served the pages' scripts and styles from the Data Docs folder (bdw.quality.data_docs)
the index showed its "Clear Filters" buttons and no validation at all, and a validation page lost its
layout. The run: the tiny inbox of test_run (one of its two accounts has no industry, so the
completeness check of accounts.industry fails at 50%)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import query

CHROMIUM = Path("/usr/bin/chromium")
OFFLINE_ARGS = ["--no-sandbox", "--disable-gpu", "--proxy-server=127.0.0.1:9", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def docs(tiny_run) -> dict:
    """The Data Docs of the session's tiny run (conftest.tiny_run)."""
    root = tiny_run["root"]
    run_id = query(root / "wh.duckdb", "SELECT any_value(run_id) FROM dq.validation_results")[0][0]
    return {"index": root / "data_docs" / "index.html", "run_id": run_id, "out": tiny_run["out"]}


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        pytest.fail("the Data Docs test needs Debian's chromium: apt-get install chromium (CI installs it)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=OFFLINE_ARGS)
        yield b
        b.close()


@pytest.fixture
def offline(browser):
    """A page that may load file: and data: URLs only, and what it tried to load besides, and its errors."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    seen = {"blocked": [], "errors": []}

    def route(r):
        if r.request.url.startswith(("file://", "data:")):
            r.continue_()
        else:
            seen["blocked"].append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))
    yield page, seen
    page.close()


def test_the_index_lists_the_runs_validations_offline(docs, offline):
    page, seen = offline
    assert f"Data Docs: {docs['index'].as_uri()}" in docs["out"]
    page.goto(docs["index"].as_uri())
    page.wait_for_load_state("load")
    rows = page.locator("tr", has_text=docs["run_id"])  # bootstrap-table draws them from the page's data
    rows.first.wait_for(timeout=10_000)
    assert rows.count() == 7  # one validation per (suite, table): 2 completeness, 5 finance validity
    texts = [rows.nth(i).inner_text() for i in range(rows.count())]
    assert sum("crm_completeness.accounts" in t for t in texts) == 1
    assert seen == {"blocked": [], "errors": []}
    # Bootstrap's styles apply, and Font Awesome draws the pass/fail icons with its own font
    assert page.evaluate("getComputedStyle(document.querySelector('.container-fluid')).paddingLeft") == "48px"
    page.evaluate("document.fonts.ready")
    assert page.evaluate("[...document.fonts].some(f => f.family.includes('Font Awesome') && f.status === 'loaded')")


def test_a_failed_expectation_shows_its_details_offline(docs, offline):
    page, seen = offline
    page.goto(docs["index"].as_uri())
    page.locator("tr", has_text=docs["run_id"]).filter(has_text="crm_completeness.accounts").first.click()
    page.wait_for_url("**/validations/crm_completeness/accounts/**")
    page.wait_for_load_state("load")
    # Bootstrap's grid: the table of contents beside the results, not above them
    toc, results = (page.locator(f".container-fluid > .row > {c}").first.bounding_box()
                    for c in (".col-md-2", ".col-md-10"))
    assert toc["x"] + toc["width"] <= results["x"] + 1 and abs(toc["y"] - results["y"]) < 50
    industry = page.locator(".ge-section", has=page.locator("h5", has_text=re.compile(r"^\s*industry\s*$")))
    assert industry.count() == 1 and industry.is_visible()
    details = industry.inner_text()
    assert "values must not be null, at least 95 % of the time." in details
    assert "1 unexpected values found. 50% of 2 total rows." in details and "50% not null" in details
    assert industry.locator("i.fa-times.text-danger").is_visible()  # the failed mark, Font Awesome's
    # the page's own script works: "Failed Only" hides the expectations that passed
    passed = page.locator("tr", has_text="100% not null").first
    assert passed.is_visible()
    page.get_by_text("Failed Only").click()
    passed.wait_for(state="hidden", timeout=5_000)
    assert industry.is_visible()
    assert seen == {"blocked": [], "errors": []}
