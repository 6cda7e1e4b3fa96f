"""The trend charts of the period report: an SVG drawn on the server with pygal (so it prints,
works without JavaScript and passes the CSP), and its text equivalent for screen readers.

The site's Content-Security-Policy allows styles from our own files only (`style-src 'self'`,
`changedesk/lib/middleware.py`): an SVG put in the page may hold no `<style>` element, no
`style` attribute and no script. pygal writes its look as a `<style>` element and its
tooltips with `style` attributes and script, so `trend_svg` renders without script
(`js=[]`) and then rewrites the drawing: the `<style>`, the tooltips and every `style`
attribute are taken out and the look is given as SVG presentation attributes (`fill`,
`stroke`, `font-size`), which the CSP does not govern. The chart's id is made from its label
(pygal's is random), so the same trend always draws the same SVG. Its words (the title, the
periods' names, the text equivalent) are in the active language.
"""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET
from datetime import date
from functools import lru_cache
from typing import Any

import pygal
from django.utils.formats import date_format
from django.utils.translation import get_language, gettext, ngettext

SVG = "http://www.w3.org/2000/svg"

LINE = "#1d70b8"
GRID = "#d0d5da"
AXIS = "#505a5f"
TEXT = "#0b0c0c"
WIDTH, HEIGHT = 600, 220


def _tag(element: ET.Element) -> str:
    return element.tag.rsplit("}", 1)[-1]


def _label(point: dict[str, Any], points: list[dict[str, Any]]) -> str:
    """A period's short name: the month ("Nov 26") or the week's Monday ("30 Nov")."""
    start = date.fromisoformat(point["start"])
    end = date.fromisoformat(point["end"])
    if (end - start).days > 7:
        return date_format(start, "M y")
    return f"{start.day} {date_format(start, 'M')}"


def _dress(root: ET.Element) -> None:
    """Take out what the CSP refuses, and give the look as presentation attributes."""
    parents = {child: parent for parent in root.iter() for child in parent}
    doomed = []
    for element in root.iter():
        tag = _tag(element)
        classes = set((element.get("class") or "").split())
        element.attrib.pop("style", None)
        for name in [n for n in element.attrib if n.startswith("{")]:
            del element.attrib[name]  # e.g. xlink: only plain attributes are kept
        if tag in ("style", "script") or "tooltip" in classes or "tooltips" in classes:
            doomed.append(element)
            continue
        if tag == "title" and parents.get(element) is not None and parents[element] is not root:
            doomed.append(element)  # pygal's per-value titles: the text equivalent says them
            continue
        if tag == "rect" and "background" in classes:
            element.set("fill", "#ffffff")
        elif tag == "path" and ("guide" in classes or "axis" in classes):
            element.set("fill", "none")
            element.set("stroke", AXIS if "axis" in classes or "major" in classes else GRID)
            element.set("stroke-width", "1")
        elif tag == "path" and "line" in classes:
            element.set("fill", "none")
            element.set("stroke", LINE)
            element.set("stroke-width", "2")
        elif tag == "circle":
            element.set("fill", LINE)
        elif tag == "text":
            element.set("fill", TEXT)
            element.set("font-family", "sans-serif")
            element.set("font-size", "24" if "no_data" in classes else "11")
        if "tooltip-trigger" in classes:
            element.set("class", " ".join(sorted(classes - {"tooltip-trigger", "reactive"})))
    for element in doomed:
        parent = parents.get(element)
        if parent is not None:
            parent.remove(element)


# Drawn charts kept by what they show: a report draws about thirty, at some 8 ms each, and
# the past periods' values rarely move, so a report read again draws only what changed.
DRAWN = 512


def trend_svg(label: str, points: list[dict[str, Any]]) -> str:
    """The trend of a figure over its periods (`points`: start, end, value; None is a gap), as
    an `<svg>` element to put in a page: no script, no style element or attribute."""
    shown = tuple((p["start"], p["end"], p["value"]) for p in points)
    return _drawn(label, shown, get_language() or "")


@lru_cache(maxsize=DRAWN)
def _drawn(label: str, shown: tuple[tuple[str, str, Any], ...], language: str) -> str:
    """The chart, drawn once for each label, trend and language (`language` keys the cache:
    the words are the active language's)."""
    points = [{"start": start, "end": end, "value": value} for start, end, value in shown]
    chart = pygal.Line(
        js=[],
        css=[],
        width=WIDTH,
        height=HEIGHT,
        show_legend=False,
        show_x_guides=False,
        disable_xml_declaration=True,
        explicit_size=False,
        margin=8,
        x_label_rotation=0,
        truncate_label=-1,
        show_minor_x_labels=True,
        dots_size=3,
        include_x_axis=True,
        no_data_text=gettext("No figures yet"),
        print_values=False,
    )
    chart.x_labels = [_label(p, points) for p in points]
    if len(chart.x_labels) > 6:
        chart.x_labels_major_every = 2
        chart.show_minor_x_labels = False
    chart.add(label, [p["value"] for p in points])
    root = ET.fromstring(chart.render(is_unicode=True))  # noqa: S314 (pygal's own output)
    _dress(root)
    name = "chart-" + hashlib.sha256(label.encode()).hexdigest()[:12]
    root.set("id", name)
    root.set("role", "img")
    root.set("aria-labelledby", f"{name}-title")
    root.set("focusable", "false")
    title = root.find(f"{{{SVG}}}title")
    if title is None:
        title = ET.Element(f"{{{SVG}}}title")
        root.insert(0, title)
    title.set("id", f"{name}-title")
    title.text = ngettext(
        "%(label)s: the last %(count)s period", "%(label)s: the last %(count)s periods", len(points)
    ) % {"label": label, "count": len(points)}
    # The SVG namespace written as a plain `xmlns` on the root, the tags unqualified, rather
    # than through ElementTree's prefixes: those are the whole process's, and other code
    # (WeasyPrint's) changes them.
    for element in root.iter():
        element.tag = _tag(element)
    root.set("xmlns", SVG)
    return ET.tostring(root, encoding="unicode", short_empty_elements=True)


def _value(value: Any) -> str:
    if value is None:
        return gettext("none")
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def trend_text(label: str, points: list[dict[str, Any]]) -> str:
    """The chart in words, for screen readers and the print: a sentence, then each period."""
    if not points:
        return gettext("%(label)s: no periods.") % {"label": label}
    known = [p["value"] for p in points if p["value"] is not None]
    first, last = points[0], points[-1]
    parts = [
        ngettext(
            "%(label)s over the %(count)s period from %(first)s to %(last)s "
            "(the last day exclusive).",
            "%(label)s over the %(count)s periods from %(first)s to %(last)s "
            "(the last day exclusive).",
            len(points),
        )
        % {"label": label, "count": len(points), "first": first["start"], "last": last["end"]}
    ]
    if known:
        parts.append(
            gettext("Lowest %(lowest)s, highest %(highest)s, this period %(this)s.")
            % {
                "lowest": _value(min(known)),
                "highest": _value(max(known)),
                "this": _value(last["value"]),
            }
        )
    else:
        parts.append(gettext("No figures in any of them."))
    each = "; ".join(f"{p['start']}: {_value(p['value'])}" for p in points)
    parts.append(gettext("Each period: %(periods)s.") % {"periods": each})
    return " ".join(parts)
