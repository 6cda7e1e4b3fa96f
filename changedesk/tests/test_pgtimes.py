"""PostgreSQL's times are read by psycopg's C loader (`lib/pgtimes.py`), and read exactly
as Django's own loader reads them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.db.backends.postgresql.psycopg_any import register_tzloader

from changedesk.lib.pgtimes import TIMESTAMPTZ_OID, UtcTimes, use_c_loader

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's loaders"),
]

TIMES = [
    "2026-12-06 08:55:18.373009+00",
    "2026-03-29 00:59:59.999999+00",  # a UK clock change, either side
    "2026-03-29 01:00:00+00",
    "2026-10-25 01:30:00+01",  # given in another zone
    "2026-06-01 12:00:00-07:30",
    "0001-01-01 00:00:00+00",
    "9999-12-31 23:59:59.999999+00",
    "2000-02-29 00:00:00.000001+00",
]


def _loader() -> type:
    from psycopg.pq import Format

    return connection.connection.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT)


def _read(cursor) -> list[tuple]:
    values = ", ".join(f"('{t}'::timestamptz, {n})" for n, t in enumerate(TIMES))
    cursor.execute(f"SELECT t, n FROM (VALUES {values}) AS v(t, n) ORDER BY n")  # noqa: S608
    return cursor.fetchall()


def test_a_connection_in_utc_reads_times_with_the_c_loader():
    assert UtcTimes is not None, "psycopg-binary is a dependency: its C loader is there"
    connection.ensure_connection()
    assert _loader() is UtcTimes
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        # Django's check in create_cursor leaves the connection's loader in place.
        assert cursor.cursor.adapters.get_loader(TIMESTAMPTZ_OID, 0) is UtcTimes


def test_the_c_loader_reads_every_time_as_djangos_loader_does():
    connection.ensure_connection()
    assert _loader() is UtcTimes
    with connection.cursor() as cursor:
        fast = _read(cursor)
    with connection.cursor() as cursor:
        register_tzloader(UTC, cursor.cursor)  # Django's own loader, on this cursor only
        assert cursor.cursor.adapters.get_loader(TIMESTAMPTZ_OID, 0) is not UtcTimes
        django = _read(cursor)
    assert fast == django
    assert all(t.tzinfo is UTC for t, _ in fast)
    assert fast[3][0] == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert fast[4][0] == datetime(2026, 6, 1, 19, 30, tzinfo=UTC)


def test_a_time_round_trips_through_the_orm():
    from changedesk.accounts.models import School

    connection.ensure_connection()
    assert _loader() is UtcTimes
    school = School.objects.create(name="Round Trip Primary", slug="round-trip")
    school.created_at = datetime(2026, 3, 29, 0, 59, 59, 999999, tzinfo=UTC)
    school.save(update_fields=["created_at"])
    read = School.objects.values_list("created_at", flat=True).get(pk=school.pk)
    assert read == school.created_at and read.tzinfo is UTC
    assert read + timedelta(microseconds=1) == datetime(2026, 3, 29, 1, tzinfo=UTC)


def test_a_connection_in_another_zone_keeps_djangos_loader():
    connection.ensure_connection()
    raw = connection.connection
    try:
        register_tzloader(UTC, raw)  # as Django made it
        with connection.cursor() as cursor:
            cursor.execute("SET TIME ZONE 'Europe/London'")
        use_c_loader(None, connection)
        assert _loader() is not UtcTimes
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET TIME ZONE 'UTC'")
        use_c_loader(None, connection)
    assert _loader() is UtcTimes


def test_a_connection_django_reads_in_another_zone_keeps_djangos_loader():
    # A database `TIME_ZONE` (or USE_TZ off) gives Django another zone: leave it be.
    connection.ensure_connection()
    raw = connection.connection
    try:
        register_tzloader(UTC, raw)
        elsewhere = SimpleNamespace(
            vendor="postgresql", timezone=ZoneInfo("Europe/London"), connection=raw
        )
        use_c_loader(None, elsewhere)
        assert _loader() is not UtcTimes
        use_c_loader(None, SimpleNamespace(vendor="postgresql", timezone=None, connection=raw))
        assert _loader() is not UtcTimes
    finally:
        use_c_loader(None, connection)
    assert _loader() is UtcTimes
