"""`{% report_display report as shown %}`: a period report's dict (live, or frozen in the
archive) made ready for `reports/_report.html`: each figure with its value in words, the link
to the RFCs behind it, and its trend as SVG with the text equivalent. Reads the dict only."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import template
from django.urls import reverse
from django.utils.safestring import mark_safe

from changedesk.reports.charts import trend_svg, trend_text

register = template.Library()


def shown_value(value: Any, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "hours":
        return f"{value:g} h"
    if unit == "percent":
        return f"{value}%"
    return str(value)


def figure_link(report: dict[str, Any], key: str) -> str:
    """The page listing the RFCs behind figure `key` (live: the figures counted again)."""
    school = report.get("school") or {}
    query = {
        "school": school.get("slug") or "all",
        "period": report["period"],
        "start": report["start"],
        "figure": key,
    }
    return f"{reverse('reports:figure')}?{urlencode(query)}"


@register.simple_tag
def report_display(report: dict[str, Any], charts: bool = True) -> list[dict[str, Any]]:
    trend = report.get("trend") or {}
    groups = []
    for group in report.get("groups") or []:
        figures = []
        for figure in group["figures"]:
            points = trend.get(figure["key"]) or []
            shown = {
                **figure,
                "shown": shown_value(figure["value"], figure["unit"]),
                "count": len(figure.get("ids") or []),
                "periods": len(points),
                "link": figure_link(report, figure["key"]) if figure.get("ids") else "",
                "text": trend_text(figure["label"], points) if points else "",
                "svg": mark_safe(trend_svg(figure["label"], points)) if charts and points else "",  # noqa: S308 (our own SVG, made from numbers and our labels)
            }
            figures.append(shown)
        groups.append({"key": group["key"], "label": group["label"], "figures": figures})
    return groups
