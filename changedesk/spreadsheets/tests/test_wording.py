"""The imports' kept messages: written in English, recognised again and shown in the reader's
language (`wording`, the `said` filter)."""

from __future__ import annotations

import pytest
from django.utils import translation

from changedesk.spreadsheets import wording
from changedesk.spreadsheets.templatetags.spreadsheets import said

VALUES = {
    "row": "1,234",
    "column": "7",
    "count": "12,001",
    "most": "10,000",
    "text": "sometime (soon)",
    "name": "Ann “A.” Jones",
    "school": "Oak Primary",
    "trust": "Valley Trust",
    "place": "Oak Primary",
    "reference": "CR-17",
    "states": "draft, closed",
    "year": "1990",
    "size": "12.5",
    "rows": "20,000",
    "byte": "3",
    "last": "100,000",
    "columns": "201",
    "error": "bad zip file",
    "part": "xl/sharedStrings.xml",
    "ratio": "100",
    "days": "7",
}


def in_welsh(text: str) -> str:
    return f"[cy] {text}"


@pytest.mark.parametrize("template", wording.KEPT)
def test_every_kept_message_is_recognised_with_its_values(template, monkeypatch):
    names = wording.PLACEHOLDER.findall(template)
    message = wording.say(template, **{name: VALUES[name] for name in names})
    assert wording.shown(message) == message
    monkeypatch.setattr(wording, "gettext", in_welsh)
    assert wording.shown(message) == in_welsh(template) % {n: VALUES[n] for n in names}


def test_a_message_not_written_there_is_not_recognised():
    assert wording.shown("Something else went wrong.") is None
    assert wording.in_language("Something else went wrong.") == "Something else went wrong."


def test_a_message_with_no_welsh_is_marked_english_on_a_welsh_page():
    with translation.override("cy"):
        assert said("Something else went wrong.") == (
            '<span lang="en-GB">Something else went wrong.</span>'
        )
    with translation.override("en-gb"):
        assert said("Something else went wrong.") == "Something else went wrong."


def test_a_kept_message_is_shown_in_the_readers_language(monkeypatch):
    monkeypatch.setattr(wording, "gettext", in_welsh)
    message = wording.say(wording.SAME_REFERENCE, row=4)
    with translation.override("cy"):
        assert said(message) == "[cy] Row 4 has the same reference."
