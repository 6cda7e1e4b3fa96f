"""The patches' and releases' mails: days stored in English are shown in the mail's
language, and the HTML says which language it is in."""

from __future__ import annotations

from django.utils import translation

from changedesk.notifications.email import render
from changedesk.notifications.templatetags.mail_days import day_in_language

PATCHES = {
    "school": "Ysgol Gymraeg",
    "vendor": "Microsoft",
    "count": 1,
    "more": 0,
    "patches": [
        {
            "title": "KB5034441",
            "reference": "P-1",
            "severity": "Critical",
            "vendor": "Microsoft",
            "due": "14 March 2025",
            "path": "/patches/1/",
        }
    ],
    "path": "/patches/",
    "recipient_name": "Ann",
}


def test_a_stored_day_is_shown_in_the_active_language() -> None:
    with translation.override("cy"):
        assert day_in_language("14 March 2025") == "14 Mawrth 2025"
        assert day_in_language("1 May 2025") == "1 Mai 2025"
    with translation.override("en-gb"):
        assert day_in_language("14 March 2025") == "14 March 2025"


def test_anything_else_is_left_as_it_was() -> None:
    with translation.override("cy"):
        for value in ("", "soon", "2025-03-14", None, 3):
            assert day_in_language(value) == value


def test_a_patch_mail_in_welsh_gives_its_language_and_its_days_in_welsh() -> None:
    with translation.override("cy"):
        mail = render("patches_new", PATCHES)
    assert '<html lang="cy">' in mail.html
    assert "14 Mawrth 2025" in mail.text
    assert "14 Mawrth 2025" in mail.html


def test_a_patch_mail_in_english_is_unchanged() -> None:
    with translation.override("en-gb"):
        mail = render("patches_new", PATCHES)
    assert '<html lang="en-GB">' in mail.html
    assert mail.subject == "1 new patch from Microsoft to assess at Ysgol Gymraeg"
    assert "(Critical), due 14 March 2025: " in mail.text
