"""The report's pipeline and renewal charts (docs/metrics.md sections 8 and 9): the quarter's pipeline
waterfall (marts.pipeline_movements), the forecast call (won + commit + best case against the
quarter's target) and the renewal base of the next four quarters. Same conventions as
``bdw.report.charts``: inline SVG, every plotted value an element with an id ``pt-<chart>-...``."""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

# the helpers every chart of the page shares (sizes, styling, SVG output)
from bdw.report.charts import GRID, INK, MUTED, SERIES_COLOURS, TARGET_COLOUR, Chart, _style, _svg
from bdw.report.formatting import format_tick, format_value

UP = "#16a34a"
DOWN = "#dc2626"
MOVEMENTS = {  # marts.pipeline_movements.movement: Chinese and English labels, in the waterfall's order
    "opening": ("期初", "opening"), "created": ("新建", "created"), "pulled_in": ("提前", "pulled in"),
    "reopened": ("重开", "reopened"), "increased": ("增额", "increased"), "decreased": ("减额", "decreased"),
    "won": ("赢单", "won"), "lost": ("丢单", "lost"), "pushed_out": ("推迟", "pushed out"),
    "removed": ("移除", "removed"), "closing": ("期末", "closing"),
}
CALL_PARTS = (("won", "已签约", "won (signed)", SERIES_COLOURS[0]), ("commit", "承诺", "commit", UP),
              ("best_case", "最可能", "best case", "#86efac"))


def waterfall_chart(movements: pd.DataFrame, quarter: str, text_as_paths: bool) -> Chart | None:
    """From the quarter's opening pipeline (its earliest snapshot) through each movement to its
    closing pipeline (the latest snapshot by --as-of): a bar per step, movements floating from the
    running total, green in, red out. A step of zero draws nothing."""
    if movements.empty:
        return None
    chart_id = "pipeline_waterfall"
    fig = Figure(figsize=(9.2, 3.4), dpi=96)
    ax = fig.add_axes((0.09, 0.2, 0.89, 0.72))
    _style(ax, "cny")
    running, points, rows, labels = 0.0, 0, [], []
    # a movement too small to see at the chart's scale is drawn this high (its label says how much)
    least = 0.006 * max(float(movements["amount_cny"].abs().max()), 1.0)
    for i, r in enumerate(movements.itertuples()):
        amount = float(r.amount_cny)
        zh, en = MOVEMENTS.get(r.movement, (r.movement, r.movement))
        labels.append(f"{zh}\n{en}")
        rows.append((f"{zh} {en}", str(int(r.deal_count)), format_value(amount, "cny"), ""))
        if r.movement in ("opening", "closing"):
            bottom, colour, top = 0.0, SERIES_COLOURS[0], amount
            running = amount
        else:
            bottom, colour = (running, UP) if amount >= 0 else (running + amount, DOWN)
            running += amount
            top = running
        if amount:
            bar = ax.bar(i, max(abs(amount), least), bottom=bottom, width=0.62, color=colour, zorder=3)
            bar.patches[0].set_gid(f"pt-{chart_id}-{r.movement}")
            points += 1
        sign = "" if r.movement in ("opening", "closing") else "+" if amount > 0 else "−" if amount < 0 else ""
        ax.annotate(sign + format_value(abs(amount) if sign else amount, "cny"),
                    xy=(i, bottom + max(abs(amount), least)), xytext=(0, 3), textcoords="offset points",
                    ha="center", va="bottom", fontsize=7, color=INK)
        if i < len(movements) - 1:
            ax.plot([i + 0.31, i + 0.69], [top, top], color=MUTED, linewidth=0.8, zorder=2)
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels(labels, fontsize=7.5, color=INK)
    ax.set_xlim(-0.6, len(labels) - 0.4)
    ax.set_ylim(bottom=0)
    ax.margins(y=0.12)
    return Chart(chart_id, "pipeline_open_amount", f"{quarter} 商机去向（瀑布图）",
                 f"Where the {quarter} pipeline went (waterfall)", "cny", _svg(fig, chart_id, text_as_paths), points,
                 rows=rows)


def forecast_call_chart(parts: dict[str, float], target: float | None, plan_to_date: float | None, quarter: str,
                        text_as_paths: bool) -> Chart | None:
    """The manager's forecast call of the quarter: won (signed so far) + commit + best case stacked
    against the quarter's signed-revenue target (red line) and where the plan stands today (diamond)."""
    if not any(parts.get(k) for k, *_ in CALL_PARTS):
        return None
    chart_id = "forecast_call"
    fig = Figure(figsize=(6.2, 2.5), dpi=96)
    ax = fig.add_axes((0.04, 0.4, 0.92, 0.5))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: format_tick(v, "cny")))
    ax.grid(axis="x", color=GRID, linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.tick_params(colors=MUTED, labelsize=8, length=0)
    ax.set_yticks([])
    left, points, handles = 0.0, 0, []
    for key, zh, en, colour in CALL_PARTS:
        value = float(parts.get(key) or 0.0)
        if not value:
            continue
        bar = ax.barh(0, value, left=left, height=0.55, color=colour, zorder=3)
        bar.patches[0].set_gid(f"pt-{chart_id}-{key}")
        if value > 0.06 * max(target or 0.0, left + value):
            ax.annotate(format_value(value, "cny"), xy=(left + value / 2, 0), ha="center", va="center", fontsize=7.5,
                        color="white" if key != "best_case" else INK, zorder=4)
        handles.append((bar.patches[0], f"{zh} {en}"))
        left += value
        points += 1
    if target:
        (line,) = ax.plot([target, target], [-0.45, 0.45], color=TARGET_COLOUR, linewidth=2.0, zorder=5,
                          gid=f"pt-{chart_id}-target")
        handles.append((line, f"目标 target {format_value(target, 'cny')}"))
        points += 1
    if plan_to_date:
        (diamond,) = ax.plot([plan_to_date], [0.42], marker="D", markersize=7, color=TARGET_COLOUR,
                             markerfacecolor="white", markeredgewidth=1.6, linestyle="", zorder=6,
                             gid=f"pt-{chart_id}-plan-to-date")
        handles.append((diamond, f"计划进度 plan to date {format_value(plan_to_date, 'cny')}"))
        points += 1
    ax.set_xlim(0, max(left, target or 0.0) * 1.08)
    ax.set_ylim(-0.6, 0.6)
    fig.legend([h for h, _ in handles], [t for _, t in handles], loc="lower center", bbox_to_anchor=(0.5, 0.0),
               ncol=3, fontsize=7.5, frameon=False, handlelength=1.4)
    return Chart(chart_id, "pipeline_open_amount", f"{quarter} 预测：已签约 + 承诺 + 最可能 vs 目标",
                 f"The {quarter} forecast call: won + commit + best case against the target", "cny",
                 _svg(fig, chart_id, text_as_paths), points)


def renewal_base_chart(base: pd.DataFrame, text_as_paths: bool) -> Chart | None:
    """The recurring revenue coming due in each of the next four quarters (renewal_base, known in
    advance), with the part still to renew (renewal_base_open) drawn inside it."""
    if base.empty:
        return None
    chart_id = "renewal_base"
    wide = base.pivot_table(index="period", columns="kpi_id", values="value", aggfunc="first").sort_index()
    fig = Figure(figsize=(4.6, 2.9), dpi=96)
    ax = fig.add_axes((0.17, 0.24, 0.8, 0.68))
    _style(ax, "cny")
    points, rows, handles = 0, [], {}
    for i, (period, r) in enumerate(wide.iterrows()):
        total, still = (float(r[k]) if k in r and pd.notna(r[k]) else None
                        for k in ("renewal_base", "renewal_base_open"))
        if total:
            bar = ax.bar(i, total, width=0.66, color="#bfdbfe", zorder=3).patches[0]
            bar.set_gid(f"pt-{chart_id}-base-{period}")
            handles.setdefault("续约基础 renewal base", bar)
            ax.annotate(format_value(total, "cny"), xy=(i, total), xytext=(0, 3), textcoords="offset points",
                        ha="center", va="bottom", fontsize=7, color=INK)
            points += 1
        if still:
            bar = ax.bar(i, still, width=0.4, color=SERIES_COLOURS[0], zorder=4).patches[0]
            bar.set_gid(f"pt-{chart_id}-open-{period}")
            handles.setdefault("待续约 still to renew", bar)
            points += 1
        rows.append((period, format_value(total, "cny"), format_value(still, "cny"), ""))
    ax.set_xticks(range(len(wide)))
    ax.set_xticklabels(list(wide.index), fontsize=8, color=INK)
    ax.set_xlim(-0.6, len(wide) - 0.4)
    ax.set_ylim(bottom=0)
    ax.margins(y=0.15)
    fig.legend(list(handles.values()), list(handles), loc="lower center", bbox_to_anchor=(0.5, 0.0),
               ncol=2, fontsize=7.5, frameon=False, handlelength=1.4)
    return Chart(chart_id, "renewal_base", "未来四个季度的续约基础", "The renewal base of the next four quarters",
                 "cny", _svg(fig, chart_id, text_as_paths), points, rows=rows)

