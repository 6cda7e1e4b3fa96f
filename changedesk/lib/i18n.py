"""A memo in front of each language's catalogue, so that a translated page costs what an
English one did.

Django looks a message up through a chain of catalogues: the language's own (one per
installed app with a `locale` directory, merged), then each merged catalogue's fallback, then
the default language's. A message not in the first one (every message on an English page,
and on a Welsh page everything Django's own apps do not translate) walks the whole chain:
measured here at 8-14 microseconds a call, against under one for a dictionary lookup. A page
asks hundreds (the agenda of a ten-school person about 900: 7-12 ms of a 30 ms page), so the
Welsh work made every page slower, in English as well.

`install` puts a memo on each language's translation object (`DjangoTranslation`, one a
language, kept by Django for the life of the process): a message's answer is looked up in the
chain once, then read from the memo. The catalogues do not change while the process runs;
when settings that choose them change (tests overriding `LOCALE_PATHS`), Django makes new
translation objects, with empty memos. The memo holds at most `MOST` messages a language, so
a caller translating unbounded text (a label that is not in the catalogue) cannot grow it
without end: past that, messages are looked up as before.
"""

from __future__ import annotations

from gettext import GNUTranslations

from django.utils.translation import trans_real

MOST = 20_000


def _gettext(self: trans_real.DjangoTranslation, message: str) -> str:
    memo: dict[str, str] | None = self.__dict__.get("_changedesk_memo")
    if memo is None:
        memo = self.__dict__["_changedesk_memo"] = {}
    found = memo.get(message)
    if found is None:
        found = GNUTranslations.gettext(self, message)
        if len(memo) < MOST:
            memo[message] = found
    return found


def install() -> None:
    """Memoise message lookups (idempotent; from `accounts`' `ready`)."""
    trans_real.DjangoTranslation.gettext = _gettext  # type: ignore[method-assign,assignment]
