"""The trend charts: well-formed SVG with nothing the site's CSP refuses (no script, no style
element or attribute, no event handler), the same drawing for the same trend, gaps for
periods with no figure, and the text equivalent."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from changedesk.lib.middleware import POLICY
from changedesk.reports.charts import trend_svg, trend_text

SVG = "{http://www.w3.org/2000/svg}"


def _points(values, month=True):
    if month:
        return [
            {
                "start": f"{2026 + (m - 1) // 12}-{(m - 1) % 12 + 1:02d}-01",
                "end": f"{2026 + m // 12}-{m % 12 + 1:02d}-01",
                "value": v,
            }
            for m, v in enumerate(values, start=1)
        ]
    return [
        {"start": f"2026-11-{2 + 7 * n:02d}", "end": f"2026-11-{9 + 7 * n:02d}", "value": v}
        for n, v in enumerate(values)
    ]


@pytest.mark.parametrize(
    "values",
    [
        [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8],
        [None] * 12,
        [0] * 12,
        [1.5, None, 2.25, 700.0],
        [7],
    ],
)
def test_the_svg_passes_the_csp(values):
    svg = trend_svg("RFCs raised <&>", _points(values))
    root = ET.fromstring(svg)  # well-formed
    assert root.tag == f"{SVG}svg" and root.get("role") == "img"
    tags = {element.tag for element in root.iter()}
    assert f"{SVG}script" not in tags and f"{SVG}style" not in tags
    for element in root.iter():
        assert "style" not in element.attrib
        assert not any(name.startswith("on") for name in element.attrib)
        for value in element.attrib.values():
            assert "javascript:" not in value
    assert "<script" not in svg and "style=" not in svg
    # The CSP it must pass: styles only from our files, scripts only from our files.
    assert "style-src 'self'" in POLICY and "'unsafe-inline'" not in POLICY
    title = root.find(f"{SVG}title")
    assert title is not None and root.get("aria-labelledby") == title.get("id")
    assert title.text.startswith("RFCs raised <&>")


def test_the_same_trend_draws_the_same_svg():
    points = _points([1, 2, 3])
    assert trend_svg("Raised", points) == trend_svg("Raised", points)
    assert trend_svg("Raised", points) != trend_svg("Approved", points)


def test_the_line_is_drawn_with_attributes_not_css():
    root = ET.fromstring(trend_svg("Raised", _points([1, 2, 3, 4])))
    lines = [e for e in root.iter(f"{SVG}path") if e.get("stroke") == "#1d70b8"]
    assert lines and all(e.get("fill") == "none" for e in lines)
    texts = [e.text for e in root.iter(f"{SVG}text")]
    assert "Jan 26" in texts or "Jan 26" in " ".join(t or "" for t in texts)


def test_weeks_are_labelled_by_their_monday():
    root = ET.fromstring(trend_svg("Raised", _points([1, 2], month=False)))
    assert "2 Nov" in [e.text for e in root.iter(f"{SVG}text")]


def test_the_text_equivalent():
    text = trend_text("RFCs raised", _points([3, None, 8]))
    assert text.startswith("RFCs raised over the 3 periods from 2026-01-01 to 2026-04-01")
    assert "Lowest 3, highest 8, this period 8." in text
    assert "2026-02-01: none" in text and "2026-03-01: 8" in text
    assert "No figures in any of them." in trend_text("Hours", _points([None, None]))
    assert trend_text("Hours", []) == "Hours: no periods."
    assert "1.5" in trend_text("Hours", _points([1.5]))


def test_the_svg_namespace_does_not_depend_on_the_registry(monkeypatch):
    # WeasyPrint (and anything else) may change ElementTree's process-wide prefixes.
    monkeypatch.setattr(ET, "_namespace_map", {"http://www.w3.org/2000/svg": "svg"})
    svg = trend_svg("Raised", _points([1, 2]))
    opening = svg.split(">", 1)[0]
    assert opening.startswith("<svg ") and 'xmlns="http://www.w3.org/2000/svg"' in opening
    assert ":svg" not in svg and "ns0" not in svg
    assert ET.fromstring(svg).tag == f"{SVG}svg"
