"""Times read from PostgreSQL by psycopg's C loader, not Django's pure-Python one.

Django reads every `timestamptz` with a loader of its own (`BaseTzLoader` in
`django/db/backends/postgresql/psycopg_any.py`): a subclass of psycopg's pure-Python
loader, which parses each time's text in Python and then sets the time zone Django
expects. psycopg-binary (a dependency) has the same loader in C, which cannot be
subclassed. Where Django's zone and the session's are both UTC (changedesk's settings:
`USE_TZ`, no `TIME_ZONE` for the database, which Django sets the session to), the C loader
gives the same times: aware, in `datetime.timezone.utc`. Measured on PostgreSQL (2,000 rows
of three times): 24 ms with Django's loader, 4.4 ms with the C one; the schedule's agenda
reads some 500 times a page, most pages a hundred or more.

`use_c_loader` is a `connection_created` receiver (connected by the site app): it
registers `UtcTimes` on each new connection where the above holds, and leaves any other
connection (another zone, psycopg without its C part, SQLite) as Django made it. It reads
the session's zone once, as the connection is made: code that then changes it (`SET TIME
ZONE`, which nothing in changedesk does) would get its times in that zone, the same
instants, where Django's loader labels them UTC.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

TIMESTAMPTZ_OID = 1184


def _c_loader() -> Any:
    """psycopg's C loader of `timestamptz` (text), or None without psycopg's C part."""
    try:
        import psycopg
        from psycopg.pq import Format
    except ImportError:  # pragma: no cover - psycopg is a dependency
        return None
    if psycopg.pq.__impl__ not in ("c", "binary"):
        return None
    return psycopg.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT)


def _utc_times() -> type | None:
    loader = _c_loader()
    if loader is None:
        return None
    from psycopg.adapt import Loader

    class UtcTimes(Loader):
        """psycopg's C loader of `timestamptz`, as Django's loader for UTC appears: with
        `timezone` (Django's `create_cursor` compares it with the connection's, and
        registers its own loader on the cursor where they differ)."""

        timezone = UTC

        def __init__(self, oid: int, context: Any = None) -> None:
            super().__init__(oid, context)
            # The C loader's own method: psycopg calls it for each value.
            self.load = loader(oid, context).load  # type: ignore[method-assign]

        def load(self, data: Any) -> Any:  # replaced on each instance above
            raise NotImplementedError

    return UtcTimes


UtcTimes = _utc_times()


def use_c_loader(sender: Any, connection: Any, **kwargs: Any) -> None:
    """On a new PostgreSQL connection in UTC, read times with psycopg's C loader."""
    if UtcTimes is None or connection.vendor != "postgresql":
        return
    raw = connection.connection
    if connection.timezone is not UTC or raw.info.parameter_status("TimeZone") != "UTC":
        return
    raw.adapters.register_loader("timestamptz", UtcTimes)
