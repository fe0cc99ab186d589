"""The KPI report page and the dbt docs page that every run writes beside the published warehouse.

The page is opened in a real headless Chromium (Debian's ``chromium``) from the file system with
every non-file request blocked; what it shows is checked against the warehouse read here on its
own, with the number format of ``bdw.report.formatting`` written out again below.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from PIL import Image

from bdw.cli import main
from bdw.report.data import TREND_KPIS
from bdw.settings import REPO_ROOT

from conftest import query

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
STATUS_EN = {"met": "Met", "on_track": "On track", "at_risk": "At risk", "off_track": "Off track", "missed": "Missed",
             "no_data": "No data", None: "No target"}


def fmt(value: float | None, unit: str) -> str:
    """The report's documented number format (bdw/report/formatting.py), written independently."""
    if value is None:
        return "—"
    if unit == "cny":
        wan = value / 1e4
        return "¥" + (f"{wan:,.0f}" if abs(wan) >= 100 else f"{wan:,.1f}") + "万"
    return {
        "usd": lambda v: f"US${v / 1e6:,.2f}M", "ratio": lambda v: f"{v * 100:.1f}%", "pp": lambda v: f"{v:.1f} pp",
        "days": lambda v: f"{v:,.0f} days", "count": lambda v: f"{v:,.0f}" if v == int(v) else f"{v:,.2f}",
        "score": lambda v: f"{v:,.1f}",
    }[unit](value)


def launch(p):
    if not CHROMIUM.exists():
        pytest.fail("the report tests need Debian's chromium and a CJK font: "
                    "apt-get install chromium fonts-noto-cjk (CI installs them)")
    return p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


def open_offline(browser, url: str, blocked: list[str], width: int = 1280):
    """A page that may load file: and data: URLs only; anything else is recorded and aborted."""
    page = browser.new_page(viewport={"width": width, "height": 900})

    def route(r):
        if r.request.url.startswith(("file://", "data:")):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.goto(url)
    page.wait_for_load_state("load")
    return page


def colours(png: bytes) -> tuple[int, float]:
    """(distinct colours, share of the most common colour) of a screenshot."""
    img = Image.open(io.BytesIO(png)).convert("RGB")
    counts = img.getcolors(maxcolors=img.width * img.height)
    return len(counts), max(n for n, _ in counts) / (img.width * img.height)


@pytest.fixture(scope="module")
def rendered(sample_warehouse: Path, tmp_path_factory) -> dict:
    """The report page the sample run wrote, rendered once: its text, rows, charts and screenshots."""
    from playwright.sync_api import sync_playwright

    report = sample_warehouse.with_name(f"{sample_warehouse.stem}_report.html")
    assert report.is_file(), "the run did not write the report page beside the warehouse"
    shots = tmp_path_factory.mktemp("report_screenshots")
    blocked: list[str] = []
    with sync_playwright() as p:
        browser = launch(p)
        try:
            page = open_offline(browser, report.as_uri(), blocked)
            page.screenshot(path=str(shots / "report.png"), full_page=True)
            out = {
                "html": report.read_text(encoding="utf-8"),
                "text": page.inner_text("body"),
                "targets": {tuple(r.get_attribute(f"data-{a}") for a in ("kpi", "period", "segment")): r.inner_text()
                            for r in page.query_selector_all("tr.target-row")},
                "kpis": {r.get_attribute("data-kpi"): r.inner_text() for r in page.query_selector_all("tr.kpi-row")},
                "targets_by_hand": {tuple(r.get_attribute(f"data-{a}") for a in ("kpi", "period", "segment"))
                                    for r in page.query_selector_all("tr.target-row[data-by-hand]")},
                "kpis_by_hand": {r.get_attribute("data-kpi")
                                 for r in page.query_selector_all("tr.kpi-row[data-by-hand]")},
                "summary": page.inner_text("#summary"),
                "team": [(r.get_attribute("data-rep"), r.get_attribute("data-status"), r.inner_text())
                         for r in page.query_selector_all("tr.team-row")],
                "plan_table": [c.text_content() for c in page.query_selector_all("#plan details tr")],
                "waterfall": [c.text_content() for c in page.query_selector_all("#pipeline table.waterfall tbody tr")],
                "call": {r.get_attribute("data-call"): r.inner_text()
                         for r in page.query_selector_all("#pipeline tr[data-call]")},
                "renewal_base": {r.get_attribute("data-quarter"): r.inner_text()
                                 for r in page.query_selector_all("#pipeline tr[data-quarter]")},
                "warnings": {r.get_attribute("data-warning") for r in page.query_selector_all("tr.warn-row")},
                "checks": page.inner_text("#checks-summary"),
                "files": page.inner_text("#files-summary"),
                "charts": {},
            }
            for fig in page.query_selector_all("figure.chart"):
                chart_id = fig.get_attribute("id")
                svg = fig.query_selector("svg")
                box = svg.bounding_box()
                points = [el.bounding_box() for el in fig.query_selector_all('[id^="pt-"]')]
                png = svg.screenshot(path=str(shots / f"{chart_id}.png"))
                out["charts"][chart_id] = {"kpi": fig.get_attribute("data-kpi"), "box": box, "points": points,
                                           "declared": int(fig.get_attribute("data-points")), "colours": colours(png)}
            label = page.query_selector("tr.target-row .kpi .zh")
            out["zh_label"] = (label.inner_text(), colours(label.screenshot(path=str(shots / "zh_label.png"))))
            # two Chinese strings of the same length: real glyphs differ, missing-glyph boxes would not
            page.evaluate("""() => { for (const [id, t] of [['zh1', '签约收入'], ['zh2', '毛利预警']]) {
                const s = document.createElement('span'); s.id = id; s.textContent = t; s.style.fontSize = '32px';
                document.querySelector('#title').after(s); } }""")
            out["zh_pair"] = (page.query_selector("#zh1").screenshot(), page.query_selector("#zh2").screenshot())
            # the page's first-choice font is installed: text in it measures differently from the fallback
            out["cjk_font_installed"] = page.evaluate("""() => {
                const c = document.createElement('canvas').getContext('2d');
                const w = f => { c.font = f; return c.measureText('Signed 签约收入 2026').width; };
                return w('24px "Noto Sans CJK SC", monospace') !== w('24px monospace'); }""")
        finally:
            browser.close()
    out["blocked"] = blocked
    out["screenshots"] = shots
    return out


def test_page_is_self_contained(rendered: dict) -> None:
    html = rendered["html"]
    assert rendered["blocked"] == [], f"the page tried to load from the network: {rendered['blocked'][:5]}"
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", html, re.I), "an external src/href"
    assert not re.search(r"url\(\s*['\"]?(?:https?:)?//|@import", html, re.I), "an external stylesheet or font"
    assert "<script" not in html.lower()
    assert (rendered["screenshots"] / "report.png").stat().st_size > 100_000


def test_scorecard_shows_every_target_and_kpi(rendered: dict, sample_warehouse: Path) -> None:
    (as_of,) = query(sample_warehouse, "SELECT max(as_of_date) FROM marts.dim_periods")[0]
    assert rendered["text"].count(as_of.isoformat()) >= 1
    rows = query(sample_warehouse, """
        SELECT kpi_id, period, segment, unit, value, target, plan_to_date, status, label_zh, label_en
        FROM marts.kpi_scorecard AS s JOIN marts.dim_periods USING (period_type, period)
        WHERE target IS NOT NULL AND period_year = ?""", [as_of.year])
    assert len(rows) >= 10 and {s for _, _, s, *_ in rows} > {"all"}  # segment targets too
    assert len(rendered["targets"]) == len(rows)
    for kpi_id, period, segment, unit, value, target, plan, status, zh, en in rows:
        text = rendered["targets"].get((kpi_id, period, segment))
        assert text is not None, f"no scorecard row for {kpi_id} {period} {segment}"
        for expected in (fmt(value, unit), fmt(target, unit), fmt(plan, unit), STATUS_EN[status], zh, en):
            assert expected in text, f"{kpi_id} {period}: {expected!r} not in {text!r}"
    year_rows = query(sample_warehouse, "SELECT kpi_id, unit, value, status, label_zh, label_en "
                      "FROM marts.kpi_scorecard WHERE period_type = 'year' AND period = ? AND segment = 'all'",
                      [str(as_of.year)])
    # every KPI with an `all` row (cost_ratio and presales_effort_share have only their breakdown: a
    # target of theirs is in the targets table above)
    assert len(rendered["kpis"]) == len(query(sample_warehouse, "SELECT DISTINCT kpi_id FROM marts.kpi_scorecard "
                                              "WHERE segment = 'all'"))
    for kpi_id, unit, value, status, zh, en in year_rows:
        text = rendered["kpis"][kpi_id]
        for expected in (fmt(value, unit), STATUS_EN[status], zh, en):
            assert expected in text, f"{kpi_id}: {expected!r} not in {text!r}"


def test_the_whole_battle_map_computed_and_measured_by_hand(rendered: dict, sample_warehouse: Path) -> None:
    """Every target of the as-of year in the seed is on the page, whether the warehouse computes the
    KPI or the manager's team measures it by hand; those measured by hand say so, with the team's note
    and the date, and a target nobody measured shows as no data (not missed)."""
    (as_of,) = query(sample_warehouse, "SELECT max(as_of_date) FROM marts.dim_periods")[0]
    seeded = {(k, p, s) for k, p, s in query(sample_warehouse, """
        SELECT t.kpi_id, t.period, t.segment FROM seeds.kpi_targets AS t
        JOIN marts.dim_periods AS p USING (period_type, period) WHERE p.period_year = ? AND p.has_begun""",
                                             [as_of.year])}
    manual = {k for (k,) in query(sample_warehouse, "SELECT kpi_id FROM seeds.kpi_definitions WHERE family = 'manual'")}
    assert set(rendered["targets"]) == seeded  # the whole battle map of the year
    assert {k for k, _, _ in seeded} & manual and {k for k, _, _ in seeded} - manual  # both kinds
    assert rendered["targets_by_hand"] == {key for key in seeded if key[0] in manual}
    rows = query(sample_warehouse, """
        SELECT kpi_id, period, segment, status, measured_at, source_note FROM marts.kpi_scorecard
        WHERE is_measured_by_hand AND target IS NOT NULL AND period LIKE ?""", [f"{as_of.year}%"])
    assert {r[3] for r in rows} >= {"on_track", "at_risk", "off_track", "no_data"}
    for kpi_id, period, segment, status, measured_at, note in rows:
        text = rendered["targets"][(kpi_id, period, segment)]
        assert "measured by hand" in text, kpi_id
        if status == "no_data":
            assert measured_at is None and "No data" in text and "not measured yet" in text and "Missed" not in text
        else:
            assert note in text and f"measured {measured_at.isoformat()}" in text, text
    assert rendered["kpis_by_hand"] == manual  # the "every KPI" table marks them too
    no_data = sum(1 for r in rows if r[3] == "no_data")
    assert f"{no_data}\n{as_of.year} 手工指标缺数据 · no value measured by hand" in rendered["summary"]


def test_the_year_against_its_plan(rendered: dict, sample_warehouse: Path) -> None:
    """Cumulative signed revenue against the back-loaded plan, with the plan to date and the run rate
    of marts.kpi_attainment (docs/metrics.md section 6)."""
    (as_of,) = query(sample_warehouse, "SELECT max(as_of_date) FROM marts.dim_periods")[0]
    value, plan, run_rate = query(sample_warehouse, """
        SELECT value, plan_to_date, run_rate FROM marts.kpi_attainment
        WHERE kpi_id = 'signed_revenue' AND period = ? AND segment = 'all'""", [str(as_of.year)])[0]
    chart = rendered["charts"]["chart-signed_revenue_cumulative"]
    # the months up to --as-of, the four quarter ends of the plan, the plan to date and the run rate
    assert chart["declared"] == as_of.month + 4 + 2
    table = " | ".join(rendered["plan_table"])
    quarters = dict(query(sample_warehouse, "SELECT period, target FROM seeds.kpi_targets WHERE kpi_id = "
                          "'signed_revenue' AND segment = 'all' AND period LIKE ?", [f"{as_of.year}%"]))
    year = quarters.pop(str(as_of.year))
    cumulative = 0.0
    for q in sorted(quarters):  # the curve's corners: the annual target along the quarters' shape
        cumulative += quarters[q]
        assert f"{q}{fmt(year * cumulative / sum(quarters.values()), 'cny')}" in table.replace(" ", "")
    for expected in (fmt(value, "cny"), fmt(plan, "cny"), fmt(run_rate, "cny")):
        assert expected in table, f"{expected} not in the chart's data"


def test_the_quarters_pipeline_forecast_call_and_renewal_base(rendered: dict, sample_warehouse: Path) -> None:
    """docs/metrics.md sections 8 and 9 on the page: the running quarter's pipeline waterfall
    (marts.pipeline_movements), the forecast call (won = signed revenue so far, commit and best case =
    the quarter's open pipeline of those categories, against the target and the plan to date) and the
    renewal base of the next four quarters."""
    (as_of,) = query(sample_warehouse, "SELECT max(as_of_date) FROM marts.dim_periods")[0]
    quarter = f"{as_of.year}-Q{(as_of.month - 1) // 3 + 1}"
    steps = query(sample_warehouse, "SELECT movement, deal_count, amount_cny::double FROM marts.pipeline_movements "
                  "WHERE quarter = ? ORDER BY step", [quarter])
    assert [m for m, *_ in steps][::len(steps) - 1] == ["opening", "closing"] and len(steps) >= 6
    chart = rendered["charts"]["chart-pipeline_waterfall"]
    assert chart["declared"] == sum(1 for *_, amount in steps if amount)
    for (movement, deals, amount), row in zip(steps, rendered["waterfall"], strict=True):
        assert movement.replace("_", " ") in row and str(deals) in row and fmt(amount, "cny") in row, row

    def value(kpi_id: str, segment: str) -> float | None:
        found = query(sample_warehouse, "SELECT value FROM marts.kpi_values WHERE kpi_id = ? AND period = ? "
                      "AND segment = ?", [kpi_id, quarter, segment])
        return found[0][0] if found else None

    won, commit, best = (value("signed_revenue", "all"), value("pipeline_open_amount", "forecast_category=commit"),
                         value("pipeline_open_amount", "forecast_category=best_case"))
    target, plan = query(sample_warehouse, "SELECT target, plan_to_date FROM marts.kpi_attainment WHERE kpi_id = "
                         "'signed_revenue' AND period = ? AND segment = 'all'", [quarter])[0]
    call = rendered["call"]
    for key, expected in (("won", won), ("commit", commit), ("best_case", best), ("call", won + commit + best),
                          ("target", target), ("plan_to_date", plan)):
        assert fmt(expected, "cny") in call[key], (key, call[key])
    assert rendered["charts"]["chart-forecast_call"]["declared"] == 5  # three parts, the target, the plan to date
    index = as_of.year * 4 + (as_of.month - 1) // 3
    ahead = [f"{(index + k) // 4}-Q{(index + k) % 4 + 1}" for k in range(1, 5)]
    base = {p: (b, o) for p, b, o in query(sample_warehouse, """
        SELECT period, max(value) FILTER (WHERE kpi_id = 'renewal_base'), max(value) FILTER (WHERE kpi_id =
        'renewal_base_open') FROM marts.kpi_values WHERE kpi_id LIKE 'renewal_base%' AND segment = 'all'
        AND period_type = 'quarter' GROUP BY period""")}
    assert list(rendered["renewal_base"]) == ahead
    for period in ahead:
        assert fmt(base[period][0], "cny") in rendered["renewal_base"][period]
        assert fmt(base[period][1], "cny") in rendered["renewal_base"][period]


def test_the_team_against_quota(rendered: dict, sample_warehouse: Path) -> None:
    (as_of,) = query(sample_warehouse, "SELECT max(as_of_date) FROM marts.dim_periods")[0]
    reps = query(sample_warehouse, """
        SELECT rep_id, status, signed_revenue_cny, quota_cny, quota_attainment, open_pipeline_cny, win_rate,
               customer_visits_per_day, crm_completeness
        FROM marts.rep_scorecard WHERE period = ? AND quota_cny IS NOT NULL
        ORDER BY attainment DESC NULLS LAST, rep_id""", [str(as_of.year)])
    assert len(reps) >= 20
    assert [(r, s) for r, s, _ in rendered["team"]] == [(r[0], r[1]) for r in reps], "not by attainment"
    for (rep_id, status, signed, quota, of_quota, pipeline, win_rate, visits, crm), (_, _, text) in zip(
            reps, rendered["team"], strict=True):
        for expected in (rep_id, fmt(signed, "cny"), fmt(quota, "cny"), fmt(of_quota, "ratio"), STATUS_EN[status],
                         fmt(pipeline, "cny"), fmt(win_rate, "ratio"), fmt(visits, "count"), fmt(crm, "ratio")):
            assert expected in text, f"{rep_id}: {expected!r} not in {text!r}"
    assert "万" in rendered["team"][0][2]


def test_every_chart_has_its_data(rendered: dict, sample_warehouse: Path) -> None:
    charts = rendered["charts"]
    assert {f"chart-{kpi}" for kpi, _ in TREND_KPIS} | {"chart-crm_fields"} <= set(charts)
    for chart_id, chart in charts.items():
        assert chart["box"]["width"] > 250 and chart["box"]["height"] > 120, chart_id
        assert chart["points"], f"{chart_id} plots nothing"
        assert len(chart["points"]) == chart["declared"], chart_id
        assert all(b and b["width"] > 0 and b["height"] > 0 for b in chart["points"]), f"{chart_id}: an invisible point"
        distinct, top_share = chart["colours"]
        assert distinct > 40 and top_share < 0.97, f"{chart_id} looks blank: {distinct} colours, {top_share:.0%} white"
    for kpi, segments in TREND_KPIS:
        (quarters,) = query(sample_warehouse, """
            SELECT count(*) FROM marts.kpi_values
            WHERE kpi_id = ? AND period_type = 'quarter' AND list_contains(?, segment) AND period IN (
                SELECT DISTINCT period FROM marts.kpi_values WHERE kpi_id = ? AND period_type = 'quarter'
                ORDER BY period DESC LIMIT 16)""", [kpi, list(segments), kpi])[0]
        assert len(charts[f"chart-{kpi}"]["points"]) == quarters, kpi
    (fields,) = query(sample_warehouse, """SELECT count(*) FROM dq.validation_results WHERE suite = 'crm_completeness'
        AND run_id = (SELECT arg_max(run_id, validated_at) FROM dq.validation_results)""")[0]
    assert len(charts["chart-crm_fields"]["points"]) == fields > 0


def test_warnings_and_data_quality(rendered: dict, sample_warehouse: Path) -> None:
    warnings = query(sample_warehouse, "SELECT warning_id, subject_type, subject FROM marts.early_warnings")
    assert warnings
    for warning_id, subject_type, subject in warnings:
        if subject_type == "crm_field":
            assert subject in rendered["text"]
        else:
            assert warning_id in rendered["warnings"]
    assert f"Open early warnings ({len(warnings)})" in rendered["text"]
    total, passed = query(sample_warehouse, """SELECT count(*), count(*) FILTER (WHERE success)
        FROM dq.validation_results
        WHERE run_id = (SELECT arg_max(run_id, validated_at) FROM dq.validation_results)""")[0]
    assert f"{passed} / {total}" in rendered["checks"]
    (files,) = query(sample_warehouse, "SELECT count(*) FROM raw._load_manifest")[0]
    assert f"{files} 文件 files" in rendered["files"]


def test_chinese_renders(rendered: dict) -> None:
    assert rendered["cjk_font_installed"], "Noto Sans CJK SC is not installed: apt-get install fonts-noto-cjk"
    text, (distinct, top_share) = rendered["zh_label"]
    assert re.search(r"[\u4e00-\u9fff]", text)
    assert distinct > 10 and top_share < 0.95, "the Chinese label rendered blank"
    first, second = rendered["zh_pair"]
    assert colours(first)[0] > 10 and first != second, "Chinese characters render as identical boxes"


def test_cli_report(sample_warehouse: Path, tmp_path: Path, capsys) -> None:
    assert main(["report", "--warehouse", str(tmp_path / "missing.duckdb")]) == 1
    assert "missing.duckdb does not exist" in capsys.readouterr().err
    out = tmp_path / "elsewhere" / "page.html"
    assert main(["report", "--warehouse", str(sample_warehouse), "--out", str(out)]) == 0
    html = out.read_text(encoding="utf-8")
    beside = sample_warehouse.with_name(f"{sample_warehouse.stem}_report.html").read_text(encoding="utf-8")
    assert html == beside, "the command and the run wrote different pages from the same warehouse"


def test_dbt_docs_beside_the_warehouse(sample_warehouse: Path) -> None:
    from playwright.sync_api import sync_playwright

    docs = sample_warehouse.with_name(f"{sample_warehouse.stem}_docs.html")
    assert docs.is_file(), "the run did not publish the dbt docs beside the warehouse"
    block = re.search(r"{% docs kpi_signed_revenue %}(.*?){% enddocs %}",
                      (REPO_ROOT / "dbt/models/marts/kpi_docs.md").read_text(encoding="utf-8"), re.S)
    # the kpi_id column shows the doc block as written (dbt docs do not render column markdown)
    sentence = " ".join(block.group(1).split())[:120]
    blocked: list[str] = []
    with sync_playwright() as p:
        browser = launch(p)
        try:
            page = open_offline(browser, docs.as_uri() + "#!/model/model.bdw.kpi_values", blocked, width=1400)
            page.wait_for_function("document.body.innerText.includes('kpi_values table')", timeout=30_000)
            text = " ".join(page.inner_text("body").split())
        finally:
            browser.close()
    assert "kpi_values" in text
    assert sentence in text, f"the doc block of signed_revenue is not on the docs page: {sentence!r}"
    assert not [u for u in blocked if u.startswith(("http:", "https:"))], f"the docs page went online: {blocked[:3]}"


@pytest.mark.parametrize(("value", "unit", "written"), [
    (152_880_000, "cny", "¥15,288万"), (431_000, "cny", "¥43.1万"), (1_000_000, "cny", "¥100万"),
    (4_730_000, "usd", "US$4.73M"), (0.285, "ratio", "28.5%"), (7.1, "pp", "7.1 pp"), (81.4, "days", "81 days"),
    (1234, "count", "1,234"), (1.943, "count", "1.94"), (82.94, "score", "82.9"), (None, "cny", "—"),
    (float("nan"), "ratio", "—"),
])
def test_the_number_rule_writes_the_documented_examples(value, unit, written):
    """The rule of bdw/report/formatting.py against literal examples (the browser test's own
    formatter could share a mistake with it; these cannot)."""
    from bdw.report.formatting import format_value

    assert format_value(value, unit) == written


@pytest.mark.parametrize(("value", "unit", "written"), [
    (50_000_000, "cny", "¥5,000万"), (2_500_000, "usd", "US$2.5M"), (0.25, "ratio", "25%"), (90, "days", "90"),
])
def test_chart_ticks_use_the_same_units_with_fewer_decimals(value, unit, written):
    from bdw.report.formatting import format_tick

    assert format_tick(value, unit) == written
