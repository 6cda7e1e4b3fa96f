"""Ids in URLs: `<id:pk>` in place of Django's `<int:pk>`, and `ID_REGEX` for the API's.

Django's `int` converter takes any run of digits, and the number then reaches the
database: SQLite refuses one beyond 2**63 - 1 with an OverflowError (a 500), wherever a
query passes it on unchecked. An id no row can have is simply no page, so `<id:...>`
refuses it while the URL is resolved (a 404), before any view runs. Django will not let
`int` itself be registered again (deprecated in 5.2, an error in 6.0), so every `urls.py`
writes `<id:...>` (`changedesk/tests/test_huge_ids.py` fails on an `<int:...>`).

A DRF viewset's lookup is a regular expression (`lookup_value_regex = ID_REGEX`), not a
converter: at most 18 digits, so every id it lets through fits in a signed 64-bit integer
(a 19-digit id is a 404 there; the database's sequences do not reach one)."""

from __future__ import annotations

from django.urls import register_converter

MAX_ID = 2**63 - 1
ID_REGEX = r"[0-9]{1,18}"


def fits(value: int) -> bool:
    """Whether `value` can be a row's id: a signed 64-bit integer, as both databases keep."""
    return -MAX_ID - 1 <= value <= MAX_ID


class IdConverter:
    """Digits, as Django's `int`, up to 2**63 - 1: a larger number matches no URL."""

    regex = "[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if not fits(number):
            raise ValueError("beyond any id")  # Django's resolver: this route does not match
        return number

    def to_url(self, value: int | str) -> str:
        return str(int(value))


register_converter(IdConverter, "id")
