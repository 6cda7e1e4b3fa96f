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
from changedesk.reports.shown import english_lang, figure_label, figure_note, group_label

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


@register.filter(name="figure_label")
def figure_label_filter(figure: dict[str, Any]) -> str:
    """A figure's label (live or frozen) in the reader's language."""
    return figure_label(figure)


@register.filter(name="group_label")
def group_label_filter(group: dict[str, Any]) -> str:
    """A group's label (live or frozen) in the reader's language."""
    return group_label(group)


@register.filter(name="figure_note")
def figure_note_filter(note: str) -> str:
    """A figure's note in the reader's language."""
    return figure_note(note or "")


@register.simple_tag
def english_text_lang() -> str:
    """`lang` for text only written in English (a service's message shown on a page): "en-GB"
    on a page that is not English, else ""."""
    return english_lang()


@register.simple_tag
def report_display(report: dict[str, Any], charts: bool = True) -> list[dict[str, Any]]:
    trend = report.get("trend") or {}
    groups = []
    for group in report.get("groups") or []:
        figures = []
        for figure in group["figures"]:
            points = trend.get(figure["key"]) or []
            label = figure_label(figure)
            shown = {
                **figure,
                "label": label,
                "note": figure_note(figure.get("note", "")),
                "shown": shown_value(figure["value"], figure["unit"]),
                "count": len(figure.get("ids") or []),
                "periods": len(points),
                "link": figure_link(report, figure["key"]) if figure.get("ids") else "",
                "text": trend_text(label, points) if points else "",
                "svg": mark_safe(trend_svg(label, points)) if charts and points else "",  # noqa: S308 (our own SVG, made from numbers and our labels)
            }
            figures.append(shown)
        groups.append({"key": group["key"], "label": group_label(group), "figures": figures})
    return groups
