"""How the report page writes numbers and statuses: one rule, used by the tables and the charts alike.

The rule, by the KPI's unit (``marts.kpi_values.unit``):

==========  ==========================================================  ===================
unit        written as                                                  example
==========  ==========================================================  ===================
``cny``     ¥ and the amount in 万 (10,000 CNY) with thousands           ``¥15,288万``,
            separators; whole 万 from 100万 up, one decimal below       ``¥43.1万``
``usd``     US$ and the amount in millions, two decimals                ``US$4.73M``
``ratio``   per cent, one decimal                                       ``28.5%``
``pp``      percentage points, one decimal                              ``7.1 pp``
``days``    whole days                                                  ``81 days``
``count``   whole number with thousands separators; two decimals for a  ``1,234``, ``1.94``
            rate that is not whole (customer visits per day)
``score``   one decimal                                                 ``82.9``
==========  ==========================================================  ===================

A missing value is written ``—``. Python's own rounding (``format``) decides halves.
"""

from __future__ import annotations

import math

MISSING = "—"


def is_missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def format_value(value: float | None, unit: str) -> str:
    """The value as the report writes it (see the module's rule)."""
    if is_missing(value):
        return MISSING
    v = float(value)
    if unit == "cny":
        wan = v / 10_000
        return f"¥{wan:,.0f}万" if abs(wan) >= 100 else f"¥{wan:,.1f}万"
    if unit == "usd":
        return f"US${v / 1_000_000:,.2f}M"
    if unit == "ratio":
        return f"{v * 100:.1f}%"
    if unit == "pp":
        return f"{v:.1f} pp"
    if unit == "days":
        return f"{v:,.0f} days"
    if unit == "count":
        return f"{v:,.0f}" if v == round(v) else f"{v:,.2f}"
    return f"{v:,.1f}"


def format_tick(value: float, unit: str) -> str:
    """A chart axis label: the same unit and scale as ``format_value``, fewer decimals."""
    if unit == "cny":
        return f"¥{value / 10_000:,.0f}万"
    if unit == "usd":
        return f"US${value / 1_000_000:,.1f}M"
    if unit == "ratio":
        return f"{value * 100:.0f}%"
    return f"{value:,.0f}"


# status → (Chinese, English, colour class); met/on_track green, at_risk amber, off_track/missed red,
# no_data (a KPI measured by hand without a value: missing data, not missed) grey
STATUSES: dict[str, tuple[str, str, str]] = {
    "met": ("达成", "Met", "green"),
    "on_track": ("正常", "On track", "green"),
    "at_risk": ("有风险", "At risk", "amber"),
    "off_track": ("偏离", "Off track", "red"),
    "missed": ("未达成", "Missed", "red"),
    "no_data": ("缺数据", "No data", "grey"),
}
NO_TARGET = ("无目标", "No target", "grey")

COLOURS = {"green": "#1a7f37", "amber": "#c77700", "red": "#c62828", "grey": "#8a8f98"}


def status_info(status: str | None) -> tuple[str, str, str]:
    """(Chinese label, English label, colour class) of a KPI status; no status means no target."""
    if is_missing(status) or not status:
        return NO_TARGET
    return STATUSES.get(str(status), (str(status), str(status), "grey"))
