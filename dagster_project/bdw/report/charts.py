"""The report's charts: matplotlib figures written as inline SVG.

Every plotted value is its own SVG element with an id ``pt-<chart>-...`` so the page (and its test)
can tell a chart with data from an empty frame. Text is drawn as shapes (``svg.fonttype = path``)
when a CJK font is installed, so the page needs no font to show the Chinese labels; without one,
the SVG keeps the text as text and the viewer's browser draws it.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import warnings
from dataclasses import dataclass, field

import matplotlib
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from bdw.report.formatting import COLOURS, format_tick, format_value

INK = "#1f2937"
MUTED = "#6b7280"
GRID = "#e5e7eb"
SERIES_COLOURS = ("#2563eb", "#7c3aed")
TARGET_COLOUR = "#dc2626"
MAX_QUARTERS = 16
SEGMENT_LABELS = {"all": ("全部", "all"), "strategic=true": ("战略客户", "strategic customers")}


@dataclass
class Chart:
    chart_id: str
    kpi_id: str
    label_zh: str
    label_en: str
    unit: str
    svg: str
    points: int  # plotted values
    note: str = ""
    rows: list[tuple[str, str, str, str]] = field(default_factory=list)  # series, period, value, target


def _svg(fig: Figure, chart_id: str, text_as_paths: bool) -> str:
    buf = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "path" if text_as_paths else "none", "svg.hashsalt": chart_id}), \
            warnings.catch_warnings():
        # without a CJK font the text stays text for the browser to draw: matplotlib's missing glyphs don't matter
        warnings.filterwarnings("ignore", message="Glyph .* missing from font", category=UserWarning)
        fig.savefig(buf, format="svg")
    text = buf.getvalue()
    text = text[text.index("<svg"):]
    text = re.sub(r"<metadata>.*?</metadata>", "", text, flags=re.S)
    # the page sizes the chart: keep the viewBox, drop the fixed size in points
    return re.sub(r'<svg([^>]*?) width="[^"]*" height="[^"]*"', r"<svg\1", text, count=1)


def _style(ax, unit: str) -> None:
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: format_tick(v, unit)))
    ax.grid(axis="y", color=GRID, linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.spines["bottom"].set_color("#9ca3af")
    ax.tick_params(colors=MUTED, labelsize=8, length=0)


def _quarter_axis(ax, periods: list[str]) -> None:
    ax.set_xticks(range(len(periods)))
    ax.set_xticklabels([p[-2:] for p in periods], fontsize=7, color=MUTED)
    ax.set_xlim(-0.6, len(periods) - 0.4)
    years: dict[str, list[int]] = {}
    for i, p in enumerate(periods):
        years.setdefault(p[:4], []).append(i)
    for year, idx in years.items():
        ax.annotate(year, xy=((idx[0] + idx[-1]) / 2, 0), xycoords=("data", "axes fraction"), xytext=(0, -20),
                    textcoords="offset points", ha="center", va="top", fontsize=8, color=INK)
        if idx[0] > 0:
            ax.axvline(idx[0] - 0.5, color=GRID, linewidth=0.8, zorder=0)


def trend_chart(kpi: pd.Series, values: pd.DataFrame, segments: tuple[str, ...], text_as_paths: bool) -> Chart | None:
    """Quarterly values of one KPI (a bar per quarter for amounts that add up, a line otherwise), with
    its targets: a quarter's target as a red dash on that quarter, a year's target as a red line across
    its quarters (for an amount that adds up, the year's target ÷ 4, the pace a quarter needs)."""
    kpi_id, unit = kpi["kpi_id"], kpi["unit"]
    quarters = values[values["period_type"] == "quarter"]
    main = quarters[quarters["segment"] == segments[0]]
    if main.empty:
        return None
    periods = sorted(quarters["period"].unique())[-MAX_QUARTERS:]
    pos = {p: i for i, p in enumerate(periods)}
    additive = bool(kpi["prorate_in_progress"])
    chart_id = kpi_id
    fig = Figure(figsize=(4.6, 2.9), dpi=96)
    ax = fig.add_axes((0.15, 0.31, 0.83, 0.64))
    _style(ax, unit)
    _quarter_axis(ax, periods)
    points = 0
    rows: list[tuple[str, str, str, str]] = []
    notes: list[str] = []
    legend: list[tuple[object, str]] = []
    for s_index, segment in enumerate(segments):
        series = quarters[(quarters["segment"] == segment) & quarters["period"].isin(pos)].sort_values("period")
        if series.empty:
            continue
        colour = SERIES_COLOURS[s_index % len(SERIES_COLOURS)]
        zh, en = SEGMENT_LABELS.get(segment, (segment, segment))
        xs = [pos[p] for p in series["period"]]
        ys = series["value"].tolist()
        done = series["is_complete"].tolist()
        if additive and s_index == 0:
            for x, y, complete, period in zip(xs, ys, done, series["period"], strict=True):
                bar = ax.bar(x, y, width=0.66, color=colour if complete else "#bfdbfe",
                             edgecolor=colour, linewidth=0 if complete else 1.0, hatch=None if complete else "///")
                bar.patches[0].set_gid(f"pt-{chart_id}-{s_index}-{period}")
            handle = next((b for b, c in zip(ax.patches, done, strict=False) if c), ax.patches[0])
        else:
            (handle,) = ax.plot(xs, ys, color=colour, linewidth=1.8, zorder=3)
            for x, y, complete, period in zip(xs, ys, done, series["period"], strict=True):
                ax.plot([x], [y], marker="o", markersize=4.5, color=colour, zorder=4,
                        markerfacecolor=colour if complete else "white", markeredgewidth=1.4,
                        gid=f"pt-{chart_id}-{s_index}-{period}")
        points += len(xs)
        legend.append((handle, f"{zh} {en}" if len(segments) > 1 else "实际 actual"))
        # the latest value, written as the tables write it
        ax.annotate(format_value(ys[-1], unit), xy=(xs[-1], ys[-1]), xytext=(0, 7), textcoords="offset points",
                    ha="right" if len(periods) > 4 else "center", va="bottom", fontsize=7.5, color=colour,
                    fontweight="bold", zorder=6,
                    bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.85})
        targets = _target_marks(values, segment, periods, additive)
        for first, last, target, kind in targets:
            ax.plot([first - 0.4, last + 0.4], [target, target], color=TARGET_COLOUR, linewidth=1.6,
                    linestyle="-" if kind != "pace" else (0, (3, 2)), alpha=1.0 if s_index == 0 else 0.6, zorder=5)
        if targets:
            if any(kind == "pace" for *_, kind in targets):
                notes.append("目标线为年度目标÷4 / target line: the year's target ÷ 4 per quarter")
            if not any(text == "目标 target" for _, text in legend):
                legend.append((ax.plot([], [], color=TARGET_COLOUR, linewidth=1.6)[0], "目标 target"))
        target_by_period = {periods[i]: t for first, last, t, _ in targets for i in range(first, last + 1)}
        for period, value in zip(series["period"], ys, strict=True):
            rows.append((f"{zh} {en}", period, format_value(value, unit),
                         format_value(target_by_period.get(period), unit)))
    if not all(quarters[quarters["period"].isin(pos)]["is_complete"]):
        legend.append((ax.plot([], [], marker="o", markerfacecolor="white", color=MUTED, linestyle="")[0]
                       if not additive else matplotlib.patches.Patch(facecolor="#bfdbfe", edgecolor=SERIES_COLOURS[0],
                                                                     hatch="///"), "进行中 in progress"))
    fig.legend([h for h, _ in legend], [t for _, t in legend], loc="lower center", bbox_to_anchor=(0.5, 0.0),
               ncol=min(len(legend), 4), fontsize=7.5, frameon=False, handlelength=1.6, columnspacing=1.2)
    ax.margins(y=0.18)
    if unit in ("cny", "usd", "count"):
        ax.set_ylim(bottom=0)
    svg = _svg(fig, chart_id, text_as_paths)
    return Chart(chart_id, kpi_id, kpi["label_zh"], kpi["label_en"], unit, svg, points,
                 note="; ".join(dict.fromkeys(notes)), rows=rows)


def _target_marks(values: pd.DataFrame, segment: str, periods: list[str],
                  additive: bool) -> list[tuple[int, int, float, str]]:
    """(first quarter, last quarter, target, kind) per target in view: a quarter's own, else its year's."""
    seg = values[(values["segment"] == segment) & values["target"].notna()]
    marks: list[tuple[int, int, float, str]] = []
    quarter_targets = {r.period: r.target for r in seg[seg["period_type"] == "quarter"].itertuples()}
    for i, p in enumerate(periods):
        if p in quarter_targets:
            marks.append((i, i, float(quarter_targets[p]), "quarter"))
    for r in seg[seg["period_type"] == "year"].itertuples():
        idx = [i for i, p in enumerate(periods) if p.startswith(str(r.period)) and p not in quarter_targets]
        if not idx:
            continue
        target = float(r.target) / 4 if additive else float(r.target)
        marks.append((idx[0], idx[-1], target, "pace" if additive else "year"))
    return marks


def completeness_chart(checks: pd.DataFrame, text_as_paths: bool) -> Chart | None:
    """CRM key fields: share filled per field against the 95% target (the latest validation run)."""
    crm = checks[checks["suite"] == "crm_completeness"] if not checks.empty else checks
    if crm.empty:
        return None
    crm = crm.assign(table=crm["asset"].str.replace(r"^.*stg_crm__", "", regex=True),
                     field_name=crm["check_name"].str.replace("completeness_", "", regex=False))
    crm = crm.sort_values(["observed_value"], ascending=False)
    threshold = float(crm["threshold"].max())
    fig = Figure(figsize=(6.4, 0.22 * len(crm) + 0.9), dpi=96)
    ax = fig.add_axes((0.34, 0.6 / (0.22 * len(crm) + 0.9), 0.6, 1 - 0.8 / (0.22 * len(crm) + 0.9)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: format_tick(v, "ratio")))
    ax.grid(axis="x", color=GRID, linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right", "bottom"):
        ax.spines[side].set_visible(False)
    ax.tick_params(colors=MUTED, labelsize=8, length=0)
    rows = []
    labels = []
    for i, r in enumerate(crm.itertuples()):
        ok = r.observed_value >= r.threshold
        bar = ax.barh(i, r.observed_value, height=0.62, color=COLOURS["green"] if ok else COLOURS["amber"])
        bar.patches[0].set_gid(f"pt-crm_fields-{i}")
        ax.annotate(format_value(r.observed_value, "ratio"), xy=(r.observed_value, i), xytext=(3, 0),
                    textcoords="offset points", va="center", fontsize=7.5, color=INK)
        labels.append(f"{r.table}.{r.field_name}")
        rows.append((r.table, r.field_name, format_value(r.observed_value, "ratio"),
                     format_value(r.threshold, "ratio")))
    ax.set_yticks(range(len(labels)))
    ax.set_yticklabels(labels, fontsize=8, color=INK)
    ax.invert_yaxis()
    ax.set_xlim(0, 1.08)
    ax.axvline(threshold, color=TARGET_COLOUR, linewidth=1.6)
    ax.annotate(f"目标 target {format_value(threshold, 'ratio')}", xy=(threshold, 0),
                xycoords=("data", "axes fraction"), xytext=(0, -14), textcoords="offset points", ha="center",
                va="top", fontsize=7.5, color=TARGET_COLOUR)
    svg = _svg(fig, "crm_fields", text_as_paths)
    return Chart("crm_fields", "crm_completeness", "CRM关键字段完整率（按字段）", "CRM key-field completeness by field",
                 "ratio", svg, len(crm), rows=rows)


def cumulative_plan_chart(kpi: dict, months: pd.DataFrame, targets: pd.DataFrame, judged: dict | None,
                          year: int, as_of: dt.date, text_as_paths: bool) -> Chart | None:
    """The year of a sum (signed revenue) as the cumulative actual by month against the cumulative plan:
    the annual target along the shape of its quarterly targets, straight within a quarter (the
    back-loaded curve of docs/metrics.md section 6), or a straight line without quarterly targets.
    The plan to date and the run rate at --as-of are marts.kpi_attainment's (``judged``): the page
    draws the rule, it does not compute it."""
    year_target = targets[(targets["period_type"] == "year") & (targets["period"] == str(year))]
    if year_target.empty or judged is None:
        return None
    chart_id, unit = f"{kpi['kpi_id']}_cumulative", kpi["unit"]
    start = dt.date(year, 1, 1)
    days_in_year = (dt.date(year, 12, 31) - start).days + 1

    def elapsed(day: dt.date) -> int:
        return (day - start).days + 1

    level = float(year_target["target"].iloc[0])
    quarters = targets[targets["period_type"] == "quarter"].set_index("period")["target"]
    shape = [float(quarters[f"{year}-Q{q}"]) for q in range(1, 5)] if len(quarters) == 4 else None
    plan_x, plan_y, plan_rows = [0], [0.0], []
    if shape:
        running = 0.0
        for q, t in enumerate(shape, start=1):
            running += t
            plan_x.append(days_in_year if q == 4 else elapsed(dt.date(year, 3 * q + 1, 1) - dt.timedelta(days=1)))
            plan_y.append(level * running / sum(shape))
            plan_rows.append(("累计计划 cumulative plan", f"{year}-Q{q}", "", format_value(plan_y[-1], unit)))
    else:
        plan_x.append(days_in_year)
        plan_y.append(level)
        plan_rows.append(("累计计划 cumulative plan", str(year), "", format_value(level, unit)))
    by_month = dict(zip(months["period"], months["value"], strict=True)) if not months.empty else {}
    act_x, act_y, act_rows, total = [0], [0.0], [], 0.0
    for m in range(1, as_of.month + 1 if as_of.year == year else 13):
        period = f"{year}-{m:02d}"
        total += float(by_month.get(period, 0.0) or 0.0)
        month_end = (dt.date(year + (m == 12), m % 12 + 1, 1) - dt.timedelta(days=1))
        act_x.append(elapsed(min(month_end, as_of)))
        act_y.append(total)
        act_rows.append(("累计实际 cumulative actual", period, format_value(total, unit), ""))

    fig = Figure(figsize=(9.2, 3.3), dpi=96)
    ax = fig.add_axes((0.09, 0.2, 0.89, 0.74))
    _style(ax, unit)
    ticks = [elapsed(dt.date(year, m, 1)) - 1 for m in range(1, 13)] + [days_in_year]
    ax.set_xticks(ticks)
    ax.set_xticklabels([f"{m}月" for m in range(1, 13)] + [""], fontsize=7.5, color=MUTED)
    ax.set_xlim(0, days_in_year + 4)
    (plan_line,) = ax.plot(plan_x, plan_y, color=TARGET_COLOUR, linewidth=1.6, zorder=3)
    for i, (x, y) in enumerate(zip(plan_x[1:], plan_y[1:], strict=True), start=1):
        ax.plot([x], [y], marker="o", markersize=4, color=TARGET_COLOUR, zorder=4, gid=f"pt-{chart_id}-plan-{i}")
    (actual_line,) = ax.plot(act_x, act_y, color=SERIES_COLOURS[0], linewidth=2.2, zorder=5)
    for i, (x, y) in enumerate(zip(act_x[1:], act_y[1:], strict=True), start=1):
        ax.plot([x], [y], marker="o", markersize=4.5, color=SERIES_COLOURS[0], zorder=6,
                gid=f"pt-{chart_id}-actual-{i}")
    now = elapsed(as_of)
    handles = [(actual_line, "累计实际 actual"), (plan_line, "累计计划 plan (目标 " + format_value(level, unit) + ")")]
    rows = act_rows + plan_rows
    plan_to_date, run_rate, value = (None if pd.isna(judged.get(k)) else float(judged[k])
                                     for k in ("plan_to_date", "run_rate", "value"))
    if plan_to_date is not None:
        ax.plot([now], [plan_to_date], marker="D", markersize=6, color=TARGET_COLOUR, markerfacecolor="white",
                markeredgewidth=1.6, zorder=7, gid=f"pt-{chart_id}-plan-to-date")
        ax.annotate(f"计划进度 plan to date {format_value(plan_to_date, unit)}", xy=(now, plan_to_date),
                    xytext=(-14, 12), textcoords="offset points", ha="right", fontsize=7.5, color=TARGET_COLOUR)
        rows.append(("计划进度 plan to date", as_of.isoformat(), "", format_value(plan_to_date, unit)))
    if run_rate is not None and value is not None:
        (rr_line,) = ax.plot([now, days_in_year], [value, run_rate], color=SERIES_COLOURS[0], linewidth=1.4,
                             linestyle=(0, (3, 2)), zorder=4)
        ax.plot([days_in_year], [run_rate], marker="o", markersize=4.5, color=SERIES_COLOURS[0],
                markerfacecolor="white", zorder=6, gid=f"pt-{chart_id}-run-rate")
        ax.annotate(f"run rate {format_value(run_rate, unit)}", xy=(days_in_year, run_rate), xytext=(2, -16),
                    textcoords="offset points", ha="right", fontsize=7.5, color=SERIES_COLOURS[0])
        handles.append((rr_line, "全年预计 run rate"))
        rows.append(("全年预计 run rate", str(year), format_value(run_rate, unit), ""))
    if value is not None:
        ax.annotate(f"实际 actual {format_value(value, unit)}", xy=(now, value), xytext=(-14, -24),
                    textcoords="offset points", ha="right", fontsize=7.5, color=SERIES_COLOURS[0], fontweight="bold")
    ax.axvline(now, color=GRID, linewidth=1.0, zorder=1)
    ax.set_ylim(bottom=0)
    ax.margins(y=0.1)
    fig.legend([h for h, _ in handles], [t for _, t in handles], loc="lower center", bbox_to_anchor=(0.5, 0.0),
               ncol=len(handles), fontsize=7.5, frameon=False, handlelength=1.8)
    points = len(act_x) - 1 + len(plan_x) - 1 + (plan_to_date is not None) + (run_rate is not None)
    svg = _svg(fig, chart_id, text_as_paths)
    return Chart(chart_id, kpi["kpi_id"], f"{year} {kpi['label_zh']}：累计实际 vs 计划",
                 f"{kpi['label_en']} {year}: cumulative actual against the plan", unit, svg, points, rows=rows)
