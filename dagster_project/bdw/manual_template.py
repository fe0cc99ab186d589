"""The XLSX template the manager's team fills in with the KPIs measured by hand
(``bdw template manual-measurements --out FILE``; docs/operations.md).

Sheet 1 (``Measurements``) is what the inbox reads (docs/contract.md section 1: the first sheet, the
header in its first non-empty row): the header in row 1 and empty rows to fill in, nothing else. The
header is the contract's own column names (``kpi_id``, ``period``, ``segment``, ``value``,
``measured_at``, ``source_note``), not the ``zh`` profile's aliases, so the file loads in any inbox
folder whatever its mapping profile; each header cell carries its Chinese name and what to write as a
cell comment, and an unfilled template loads as it is, with no rows.

Sheet 2 (``KPIs``) lists the seed's KPIs measured by hand (``bdw.manual_kpis``) with their Chinese and
English labels, unit, how to write a value, the periods they are given for and their targets; the
kpi_id cells of sheet 1 offer that list (an Excel drop-down). Sheet 3 (``说明 Instructions``) says how
to fill it in, with the columns in Chinese and English. The seed is the one list: a node added there
is in the next template written.
"""

from __future__ import annotations

from pathlib import Path

from bdw.contract import SOURCES
from bdw.manual_kpis import ManualKpi, Target, manual_kpis, manual_targets

SOURCE = "manual_measurements"
DATA_SHEET = "Measurements"
KPI_SHEET = "KPIs"
INSTRUCTIONS_SHEET = "说明 Instructions"
HEADER_ROW = 1  # the first non-empty row of the first sheet
ROWS = 500  # the rows offered for filling in (drop-down, date format)
HINTS = {  # the Chinese name of each column (the zh profile's alias) and what to write
    "kpi_id": "指标编号 · 从下拉列表选择 (pick from the list)",
    "period": "期间 · 2026 / 2026-Q2 / 2026-05",
    "segment": "维度 · 留空 = all (blank = all)",
    "value": "数值 · 比率写 0.85 或 85% (a ratio as 0.85)",
    "measured_at": "测量日期 · YYYY-MM-DD",
    "source_note": "来源说明 · 如 Q2 调查, n=143",
}
UNIT_HELP = {
    "ratio": "比率: 0.85 = 85%",
    "count": "人数/个数: 整数 (a whole number)",
    "cny": "金额 (元 CNY): 13800000",
    "usd": "金额 (美元 USD)",
    "days": "天数 (days)",
    "score": "分数 0–100 (a score)",
    "pp": "百分点 (percentage points)",
}
INSTRUCTIONS = (
    "如何填写 · How to fill it in",
    "1. 在 Measurements 页第 2 行起每行填一个数值：指标编号、期间、维度（留空即 all）、数值、测量日期、来源说明。",
    "   One value per row from row 2 of sheet Measurements: kpi_id, period, segment (blank = all), value, "
    "measured_at, source_note.",
    "2. 期间写年 2026、季度 2026-Q2 或月份 2026-05；比率写小数（0.85 即 85%）。",
    "   A period is a year (2026), a quarter (2026-Q2) or a month (2026-05); a ratio is a fraction (0.85 = 85%).",
    "3. 不要修改第 1 行的表头，也不要在表头上方插入行。",
    "   Leave the header in row 1 as it is, with nothing above it.",
    "4. 把文件放进收件箱的 manual_measurements 文件夹，文件名以日期开头，如 2026-07-05_manual.xlsx。",
    "   Drop the file in the inbox folder manual_measurements/, named with a leading date, e.g. "
    "2026-07-05_manual.xlsx.",
    "5. 更正：在更晚的文件里再填同一指标、期间和维度的一行，新值替换旧值。",
    "   To correct a value, send a later file with a row for the same kpi_id, period and segment: it replaces "
    "the earlier one.",
    "6. 有问题的行会被拒收并写明原因（运行摘要与 raw._load_issues），其余行照常加载。",
    "   A row with a problem is rejected with its reason (the run summary, raw._load_issues); the other rows load.",
)


def _target_text(target: Target, unit: str) -> str:
    sign = "≤" if target.direction == "lower" else "≥"
    value = f"{target.target:.0%}" if unit == "ratio" else f"{target.target:,.0f}" if unit in ("cny", "usd") \
        else f"{target.target:g}"
    segment = "" if target.segment == "all" else f" {target.segment}"
    return f"{target.period}{segment}: {sign} {value}"


def kpi_rows() -> list[list[str]]:
    """Sheet 2's rows: one per KPI measured by hand, in the seed's order."""
    targets: dict[str, list[Target]] = {}
    for t in manual_targets():
        targets.setdefault(t.kpi_id, []).append(t)

    def row(k: ManualKpi) -> list[str]:
        return [k.kpi_id, k.label_zh, k.label_en, k.unit, UNIT_HELP.get(k.unit, k.unit),
                " / ".join(k.period_types), ", ".join(_target_text(t, k.unit) for t in targets.get(k.kpi_id, []))]

    return [row(k) for k in manual_kpis()]


def write_manual_template(path: Path) -> int:
    """Write the template to ``path`` (its folder is made); returns how many KPIs it lists."""
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Font, PatternFill
    from openpyxl.worksheet.datavalidation import DataValidation

    columns = [c for c in SOURCES[SOURCE].column_names if c != "is_deleted"]  # a correction needs no deletion
    kpis = kpi_rows()
    wb = Workbook()
    data = wb.active
    data.title = DATA_SHEET
    data.append(list(columns))
    for cell in data[HEADER_ROW]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDE7F3")
        cell.comment = Comment(f"{HINTS.get(cell.value, '')}\n(keep this header as it is)", "bdw")
    for letter, width in zip("ABCDEF", (30, 16, 18, 22, 16, 40), strict=True):
        data.column_dimensions[letter].width = width
    first, last = HEADER_ROW + 1, HEADER_ROW + ROWS
    measured = columns.index("measured_at") + 1
    for (cell,) in data.iter_rows(min_row=first, max_row=last, min_col=measured, max_col=measured):
        cell.number_format = "yyyy-mm-dd"
    data.freeze_panes = f"A{first}"
    pick = DataValidation(type="list", formula1=f"={KPI_SHEET}!$A$2:$A${len(kpis) + 1}", allow_blank=True,
                          showErrorMessage=True, errorTitle="kpi_id",
                          error="不是手工测量指标 · not a KPI measured by hand: pick one from the list (sheet KPIs)")
    pick.add(f"A{first}:A{last}")
    data.add_data_validation(pick)

    listed = wb.create_sheet(KPI_SHEET)
    listed.append(["kpi_id", "指标", "KPI", "unit", "怎么写数值 · how to write the value", "periods", "目标 targets"])
    for row in kpis:
        listed.append(row)
    for cell in listed[1]:
        cell.font = Font(bold=True)
    for letter, width in zip("ABCDEFG", (30, 20, 30, 8, 30, 22, 28), strict=True):
        listed.column_dimensions[letter].width = width

    notes = wb.create_sheet(INSTRUCTIONS_SHEET)
    for line in INSTRUCTIONS:
        notes.append([line])
    notes.append([])
    notes.append(["列 · column", "中文 · 怎么写 · what to write"])
    for c in columns:
        notes.append([c, HINTS.get(c, "")])
    notes["A1"].font = Font(bold=True, size=13)
    notes.column_dimensions["A"].width = 120

    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return len(kpis)
