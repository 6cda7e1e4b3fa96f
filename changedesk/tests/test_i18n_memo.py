"""lib.i18n: the memo in front of each language's catalogue answers as the catalogue does."""

from __future__ import annotations

from django.utils import translation
from django.utils.translation import gettext, pgettext, trans_real

from changedesk.lib import i18n


def test_installed_answers_as_the_catalogue_does() -> None:
    assert trans_real.DjangoTranslation.gettext is i18n._gettext
    with translation.override("cy"):
        assert gettext("Closed") == "Wedi'i gau"
        assert gettext("Closed") == "Wedi'i gau"  # from the memo
        assert gettext("no such message, surely") == "no such message, surely"
    with translation.override("en-gb"):
        assert gettext("Closed") == "Closed"
        # Django's own catalogue still answers through the memo (pgettext: a context).
        assert pgettext("abbrev. month", "May") == "May"
    with translation.override("cy"):
        assert pgettext("abbrev. month", "May") == "Mai"


def test_memo_is_per_language_and_bounded(monkeypatch) -> None:
    monkeypatch.setattr(i18n, "MOST", 3)
    welsh = trans_real.translation("cy")
    welsh.__dict__.pop("_changedesk_memo", None)
    with translation.override("cy"):
        for n in range(10):
            assert gettext(f"message {n}") == f"message {n}"
        assert gettext("Closed") == "Wedi'i gau"  # past the bound: looked up as before
    assert len(welsh.__dict__["_changedesk_memo"]) == 3
    assert "_changedesk_memo" not in trans_real.translation("en-gb").__dict__ or (
        "message 9" not in trans_real.translation("en-gb").__dict__["_changedesk_memo"]
    )
