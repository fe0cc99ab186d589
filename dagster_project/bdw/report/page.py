"""The report page: the data of ``bdw.report.data`` laid out with the template ``report.html.j2``."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from jinja2 import Environment, FileSystemLoader, select_autoescape

from bdw.fonts import use_cjk_font
from bdw.ingest.outcome import FileStatus
from bdw.report.charts import Chart, completeness_chart, cumulative_plan_chart, trend_chart
from bdw.report.data import PLAN_KPI, TREND_KPIS, ReportData
from bdw.report.formatting import COLOURS, format_value, is_missing, status_info
from bdw.report.pipeline_charts import forecast_call_chart, renewal_base_chart, waterfall_chart
from bdw.report.stale_sources import FreshnessSection, freshness_section

FAMILIES = {
    "revenue": ("收入", "Revenue"), "margin": ("毛利", "Margin"), "customers": ("客户", "Customers"),
    "renewal": ("续约", "Renewal"), "productivity": ("产能", "Productivity"), "cycle": ("销售周期", "Sales cycle"),
    "forecast": ("预测", "Forecast"), "pipeline": ("商机", "Pipeline"), "crm": ("CRM", "CRM"),
    "people": ("人员", "People"), "partners": ("伙伴", "Partners"), "manual": ("手工测量", "Measured by hand"),
}
WARNING_KINDS = {
    "budget_freeze": ("预算冻结", "Budget freeze"), "attrition": ("人员流失", "Attrition"),
    "concentration": ("客户集中", "Customer concentration"), "forecast": ("预测偏差", "Forecast deviation"),
    "channel": ("渠道伙伴", "Channel partner"), "data": ("数据质量", "Data quality"),
    "forecast_call": ("预测缺口", "Forecast call short"),
}
WARNING_COLOURS = {"red": "#c62828", "orange": "#e8590c", "yellow": "#d4a106", "blue": "#1d4ed8",
                   "purple": "#7c3aed", "grey": "#6b7280"}
SEGMENTS = {"all": ("", ""), "strategic=true": ("战略客户", "strategic customers"),
            "channel=partner": ("渠道", "partner channel")}
FILE_STATUSES = {  # the manifest's statuses a report shows, in Chinese and English
    FileStatus.LOADED: ("已加载", "loaded"), FileStatus.PARTIAL: ("部分加载", "loaded, bad rows quarantined"),
    FileStatus.QUARANTINED: ("已隔离", "quarantined"), FileStatus.DUPLICATE: ("重复", "duplicate, skipped"),
}


@dataclass
class Status:
    zh: str
    en: str
    colour: str
    key: str


@dataclass
class ByHand:
    """How the value of a KPI measured by hand came in (the page marks such a KPI "measured by hand"):
    when it was measured and the team's note on where it came from; no date: no value yet."""

    measured: str  # YYYY-MM-DD, or "" when nothing was measured
    note: str


@dataclass
class TargetRow:
    kpi_id: str
    period: str
    segment: str
    label_zh: str
    label_en: str
    value: str
    target: str
    plan_to_date: str
    status: Status
    progress: float | None  # attainment: value / plan to date (plan to date / value for a `lower` target)
    run_rate: str
    by_hand: ByHand | None = None  # None: computed by the warehouse


@dataclass
class KpiRow:
    kpi_id: str
    label_zh: str
    label_en: str
    year_value: str
    year_status: Status
    year_target: str
    quarter_value: str
    prior_value: str
    run_rate: str
    by_hand: ByHand | None = None


@dataclass
class TeamRow:
    rank: int
    rep_id: str
    team: str
    signed: str
    quota: str
    quota_attainment: str
    plan_to_date: str
    status: Status
    pipeline: str
    win_rate: str
    visits: str
    crm: str


@dataclass
class PipelineView:
    """The quarter's pipeline waterfall, its forecast call and the renewal base ahead (the figures
    of docs/metrics.md sections 8 and 9, as the marts hold them)."""
    quarter: str
    waterfall: Chart | None
    call: Chart | None
    call_rows: list[tuple[str, str, str, str]]  # key, Chinese, English, amount
    renewal: Chart | None

    def __bool__(self) -> bool:
        return any((self.waterfall, self.call, self.renewal))


@dataclass
class Page:
    title: str
    as_of: dt.date
    built_at: dt.datetime
    warehouse: str
    year: int
    quarter: str
    counts: dict[str, int]
    targets: list[TargetRow]
    families: list[tuple[str, str, list[KpiRow]]]
    charts: list[Chart]
    plan_chart: Chart | None
    pipeline: PipelineView
    team: list[TeamRow]
    warnings: list[dict]
    checks: dict
    files: dict
    reference_issues: list[tuple[str, int]]
    cjk_font: str | None
    missing: list[str] = field(default_factory=list)
    freshness: FreshnessSection = field(default_factory=lambda: FreshnessSection(judged=False, stale=[]))


def _status(value: object) -> Status:
    zh, en, colour = status_info(None if is_missing(value) else str(value))
    return Status(zh, en, colour, "none" if is_missing(value) else str(value))


def _by_hand(row: object, flag: object) -> ByHand | None:
    """``row`` (a scorecard or attainment row, or None) of a KPI measured by hand when ``flag`` is true."""
    if flag is None or pd.isna(flag) or not bool(flag):
        return None
    measured = getattr(row, "measured_at", None) if row is not None else None
    note = getattr(row, "source_note", None) if row is not None else None
    return ByHand("" if measured is None or pd.isna(measured) else pd.Timestamp(measured).date().isoformat(),
                  "" if note is None or pd.isna(note) else str(note))


def _quarter(day: dt.date) -> str:
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def build_page(data: ReportData) -> Page:
    font = use_cjk_font()
    year, quarter = data.as_of.year, _quarter(data.as_of)
    kpis = data.kpis.set_index("kpi_id") if not data.kpis.empty else pd.DataFrame()
    targets = _target_rows(data, kpis)
    counts = {c: sum(1 for t in targets if t.status.colour == c) for c in ("green", "amber", "red")}
    counts["no_data"] = sum(1 for t in targets if t.status.key == "no_data")
    counts["warnings"] = len(data.warnings)  # every open warning, also those listed together
    charts: list[Chart] = []
    for kpi_id, segments in TREND_KPIS:
        if kpi_id not in kpis.index or data.trends.empty:
            continue
        values = data.trends[data.trends["kpi_id"] == kpi_id]
        chart = trend_chart(kpis.loc[kpi_id].rename(None).to_dict() | {"kpi_id": kpi_id}, values, segments,
                            text_as_paths=font is not None)
        if chart:
            charts.append(chart)
    crm_chart = completeness_chart(data.checks, text_as_paths=font is not None)
    plan_chart = None
    if PLAN_KPI in kpis.index and not data.targets.empty:
        judged = data.targets[(data.targets["kpi_id"] == PLAN_KPI) & (data.targets["segment"] == "all")
                              & (data.targets["period_type"] == "year")]
        plan_chart = cumulative_plan_chart(kpis.loc[PLAN_KPI].rename(None).to_dict() | {"kpi_id": PLAN_KPI},
                                           data.plan_months, data.plan_targets,
                                           judged.iloc[0].to_dict() if not judged.empty else None, year,
                                           data.as_of, text_as_paths=font is not None)
    return Page(
        title="BD 经营指标报告 · BD KPI report", as_of=data.as_of, built_at=data.built_at,
        warehouse=data.warehouse.name, year=year, quarter=quarter, counts=counts, targets=targets,
        families=_families(data, year, quarter), charts=charts, plan_chart=plan_chart,
        pipeline=_pipeline(data, quarter, text_as_paths=font is not None), team=_team(data.team),
        warnings=_warnings(data.warnings),
        checks=_checks(data.checks, crm_chart), files=_files(data.files),
        reference_issues=[(r.rule, int(r.n)) for r in data.reference_issues.itertuples()],
        cjk_font=font, missing=data.missing, freshness=freshness_section(data.freshness),
    )


def _target_rows(data: ReportData, kpis: pd.DataFrame) -> list[TargetRow]:
    if data.targets.empty or kpis.empty:
        return []
    rows = []
    t = data.targets.merge(kpis[["sort_order", "label_zh", "label_en"]], left_on="kpi_id", right_index=True)
    t = t.assign(seg_order=t["segment"] != "all").sort_values(
        ["sort_order", "seg_order", "segment", "period_type", "period"], ascending=[True, True, True, False, True])
    for r in t.itertuples():
        seg_zh, seg_en = SEGMENTS.get(r.segment, (r.segment, r.segment))
        # the full-year run rate of a sum in progress (marts.kpi_attainment)
        run_rate = format_value(r.run_rate, r.unit) if r.period_type == "year" and not is_missing(r.run_rate) else ""
        rows.append(TargetRow(r.kpi_id, r.period, r.segment,
                              r.label_zh + (f" · {seg_zh}" if seg_zh else ""),
                              r.label_en + (f" · {seg_en}" if seg_en else ""),
                              format_value(r.value, r.unit), format_value(r.target, r.unit),
                              format_value(r.plan_to_date, r.unit), _status(r.status),
                              None if is_missing(r.attainment) else float(r.attainment), run_rate,
                              _by_hand(r, getattr(r, "is_measured_by_hand", None))))
    return rows


def _pipeline(data: ReportData, quarter: str, text_as_paths: bool) -> PipelineView:
    """The pipeline waterfall of the as-of quarter, its forecast call (won = signed revenue so far,
    commit and best case = its open pipeline of those categories) against the target and plan to
    date, and the renewal base of the next four quarters."""
    values = {}
    if not data.forecast_call.empty:
        for r in data.forecast_call.itertuples():
            key = "won" if r.kpi_id == "signed_revenue" else r.segment.removeprefix("forecast_category=")
            values[key] = float(r.value)
    plan = data.quarter_plan.iloc[0] if not data.quarter_plan.empty else None
    target = None if plan is None or is_missing(plan["target"]) else float(plan["target"])
    plan_to_date = None if plan is None or is_missing(plan["plan_to_date"]) else float(plan["plan_to_date"])
    call = sum(values.get(k, 0.0) for k in ("won", "commit", "best_case"))
    rows = [("won", "已签约", "won (signed revenue to date)", format_value(values.get("won", 0.0), "cny")),
            ("commit", "承诺", "commit", format_value(values.get("commit", 0.0), "cny")),
            ("best_case", "最可能", "best case", format_value(values.get("best_case", 0.0), "cny")),
            ("call", "预测合计", "forecast call", format_value(call, "cny")),
            ("target", "季度目标", "target", format_value(target, "cny")),
            ("plan_to_date", "计划进度", "plan to date", format_value(plan_to_date, "cny")),
            ("pipeline", "其他商机", "pipeline (not in the call)", format_value(values.get("pipeline"), "cny"))]
    return PipelineView(
        quarter,
        waterfall_chart(data.pipeline, quarter, text_as_paths) if not data.pipeline.empty else None,
        forecast_call_chart(values, target, plan_to_date, quarter, text_as_paths) if values else None,
        rows if values else [],
        renewal_base_chart(data.renewal_base, text_as_paths) if not data.renewal_base.empty else None,
    )


def _team(frame: pd.DataFrame) -> list[TeamRow]:
    """The reps with a quota for the year, by attainment against their plan to date (marts.rep_scorecard)."""
    rows = []
    for rank, r in enumerate(frame.itertuples(), start=1):
        rows.append(TeamRow(rank, r.rep_id, r.team, format_value(r.signed_revenue_cny, "cny"),
                            format_value(r.quota_cny, "cny"), format_value(r.quota_attainment, "ratio"),
                            format_value(r.plan_to_date, "ratio"), _status(r.status),
                            format_value(r.open_pipeline_cny, "cny"), format_value(r.win_rate, "ratio"),
                            format_value(r.customer_visits_per_day, "count"),
                            format_value(r.crm_completeness, "ratio")))
    return rows


def _families(data: ReportData, year: int, quarter: str) -> list[tuple[str, str, list[KpiRow]]]:
    sc = data.scorecard
    if sc.empty:
        return []
    out: dict[str, list[KpiRow]] = {}
    for kpi_id, rows in sc.groupby("kpi_id", sort=False):
        first = rows.iloc[0]
        yr = rows[(rows["period_type"] == "year") & (rows["period"] == str(year))]
        qr = rows[(rows["period_type"] == "quarter") & (rows["period"] == quarter)]
        py = rows[(rows["period_type"] == "year") & (rows["period"] == str(year - 1))]
        y = yr.iloc[0] if not yr.empty else None
        out.setdefault(first["family"], []).append(KpiRow(
            kpi_id, first["label_zh"], first["label_en"],
            format_value(y["value"] if y is not None else None, first["unit"]),
            _status(y["status"] if y is not None else None),
            format_value(y["target"] if y is not None else None, first["unit"]),
            format_value(qr["value"].iloc[0] if not qr.empty else None, first["unit"]),
            format_value(py["value"].iloc[0] if not py.empty else None, first["unit"]),
            format_value(y["run_rate_value"], first["unit"]) if y is not None and not is_missing(y["run_rate_value"])
            else "",
            _by_hand(y, first.get("is_measured_by_hand")),
        ))
    return [(*FAMILIES.get(f, (f, f)), rows) for f, rows in out.items()]


def _warnings(frame: pd.DataFrame) -> list[dict]:
    """One row per warning; the CRM fields below their completeness target share one row (the data
    quality section charts them)."""
    rows = []
    fields = frame[frame["subject_type"] == "crm_field"] if not frame.empty else frame
    for r in frame.itertuples():
        if r.subject_type == "crm_field":
            continue
        zh, en = WARNING_KINDS.get(r.kind, (r.kind, r.kind))
        rows.append({"id": r.warning_id, "kind_zh": zh, "kind_en": en,
                     "colour": WARNING_COLOURS.get(r.colour, "#6b7280"), "subject": r.subject,
                     "period": "" if is_missing(r.period) else r.period, "message": r.message})
    if not fields.empty:
        threshold = format_value(fields["threshold"].max(), "ratio")
        listed = ", ".join(f"{r.subject} {format_value(r.value, 'ratio')}"
                           for r in fields.sort_values("value").itertuples())
        rows.append({"id": "data:crm_fields", "kind_zh": "数据质量", "kind_en": "Data quality",
                     "colour": WARNING_COLOURS["grey"], "subject": f"{len(fields)} 个CRM字段 CRM fields", "period": "",
                     "message": f"低于 {threshold} 填写率 · Filled below {threshold}: {listed}. "
                                "Ask the owners to complete them (see Data quality below)."})
    return rows


def _checks(frame: pd.DataFrame, chart: Chart | None) -> dict:
    if frame.empty:
        return {"total": 0, "chart": chart, "failing": []}
    failing = frame[~frame["success"]]
    when = frame["validated_at"].max()
    return {
        "total": len(frame), "passed": int(frame["success"].sum()),
        "warnings": int((~frame["success"] & (frame["severity"] == "warn")).sum()),
        "errors": int((~frame["success"] & (frame["severity"] == "error")).sum()),
        "validated_at": when.to_pydatetime() if hasattr(when, "to_pydatetime") else when,
        "chart": chart,
        "failing": [{"severity": r.severity, "asset": r.asset, "check": r.check_name, "message": r.message}
                    for r in failing.itertuples() if r.suite != "crm_completeness"],
    }


def _files(frame: pd.DataFrame) -> dict:
    if frame.empty:
        return {"total": 0, "by_status": [], "problems": []}
    by_status = frame.groupby("status").agg(files=("file", "count"), rejected=("rows_rejected", "sum"))
    problems = frame[frame["status"].isin([FileStatus.QUARANTINED, FileStatus.PARTIAL, FileStatus.DUPLICATE])]
    return {
        "total": len(frame),
        "loaded_rows": int(frame["rows_loaded"].fillna(0).sum()),
        "rejected_rows": int(frame["rows_rejected"].fillna(0).sum()),
        "quarantined": int((frame["status"] == FileStatus.QUARANTINED).sum()),
        "by_status": [(*FILE_STATUSES.get(s, (s, s)), int(r.files)) for s, r in by_status.iterrows()],
        "problems": [{"file": r.file, "status_zh": FILE_STATUSES.get(r.status, (r.status,))[0],
                      "status_en": FILE_STATUSES.get(r.status, ("", r.status))[1], "message": r.message or "",
                      "bad": r.status == FileStatus.QUARANTINED} for r in problems.itertuples()],
    }


def render(page: Page) -> str:
    env = Environment(loader=FileSystemLoader(Path(__file__).parent), autoescape=select_autoescape(["html", "j2"]),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["pct_width"] = lambda p: 0 if p is None or math.isnan(p) else max(0.0, min(p, 1.0)) * 100
    return env.get_template("report.html.j2").render(page=page, colours=COLOURS)
