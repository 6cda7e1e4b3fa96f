"""How many RFCs a list holds, without counting them: the tallies (issue 9).

A change log page and an API list say how many RFCs match ("1-25 of 122,008", `count`). At
trust scale, counting a ten-school person's 120,000 RFCs costs 11 ms on a vacuumed database
and 50-80 ms on one autovacuum has not reached, on every page. But most lists are filtered
by nothing but schools, states and emergency or not, and for those the database keeps the
answer: `Tally` rows of (school, state, emergency, n).

- **Written by the database.** Triggers on the RFCs' table insert a row of +1 for each RFC
  made, and -1 / +1 for each moved between states, schools or kinds: whatever writes, the
  workflow's one door, a bulk load, the admin or a raw UPDATE. Only inserts, so writers
  never wait on one another's tally row (a row per key updated in place would be a lock
  every RFC of a school queues on, and two moves in opposite directions could deadlock).
  RFCs are never removed (their history protects them), so nothing counts removals: a
  test database's flush empties the tallies with the rest, where a removal's row would be
  left behind when the flush took the tallies first.
- **Folded by the worker** (`compact`, every pass, when rows were added): the rows are
  taken out (`DELETE ... RETURNING`, so exactly those) and put back as one per key, in one
  transaction. A row added meanwhile stays for the next pass: nothing is counted twice or
  lost. Between passes a count sums a few more rows.
- **Read** by `count_for(filterset, schools)`: the count of a valid change-log filter set
  that filters by nothing but `school`, `state` and `is_emergency` (and sorts), within the
  caller's schools; None for any other filter (a search, dates, people, an extension's),
  which the list counts itself as before.

The triggers are installed after every `migrate` (`install`, on the `post_migrate` signal:
SQLite drops a table's triggers when a migration rebuilds the table, as adding a column
does), and where they were missing the tallies are counted again from the RFCs
(`rebuild`). Only PostgreSQL and SQLite have them; elsewhere every list counts itself.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import connection, connections, transaction
from django.db.models import Count, Sum
from django_filters.constants import EMPTY_VALUES

from changedesk.accounts.models import School
from changedesk.changes.models import Change, Tally

JOB_NAME = "changes.tally"
# The filters a tally answers; `sort` orders and filters nothing.
TALLIED = frozenset({"school", "state", "is_emergency"})
UNFILTERED = frozenset({"sort"})

Key = tuple[int, str, bool]

TABLE, CHANGES = "changes_tally", "changes_change"
TRIGGERS = ("changes_tally_insert", "changes_tally_update")
_COLUMNS = "school_id, state, is_emergency"

# PostgreSQL: one function, run once per statement with the rows it wrote (transition
# tables), so a bulk load adds a row per school, state and kind, not one per RFC, and an
# UPDATE that moves nothing (editing a title) adds none.
POSTGRESQL = (
    """CREATE OR REPLACE FUNCTION changes_tally_rows() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO changes_tally (school_id, state, is_emergency, n)
    SELECT school_id, state, is_emergency, COUNT(*) FROM added
    GROUP BY school_id, state, is_emergency;
  ELSE
    INSERT INTO changes_tally (school_id, state, is_emergency, n)
    SELECT school_id, state, is_emergency, SUM(n) FROM (
      SELECT school_id, state, is_emergency, -1 AS n FROM removed
      UNION ALL SELECT school_id, state, is_emergency, 1 AS n FROM added
    ) AS moved GROUP BY school_id, state, is_emergency HAVING SUM(n) <> 0;
  END IF;
  RETURN NULL;
END $$""",
    "CREATE OR REPLACE TRIGGER changes_tally_insert AFTER INSERT ON changes_change "
    "REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION changes_tally_rows()",
    "CREATE OR REPLACE TRIGGER changes_tally_update AFTER UPDATE ON changes_change "
    "REFERENCING OLD TABLE AS removed NEW TABLE AS added "
    "FOR EACH STATEMENT EXECUTE FUNCTION changes_tally_rows()",
)
# SQLite: a row at a time (it has no statement triggers), and an UPDATE only when it moves
# the RFC to another key.
SQLITE = (
    """CREATE TRIGGER IF NOT EXISTS changes_tally_insert AFTER INSERT ON changes_change BEGIN
  INSERT INTO changes_tally (school_id, state, is_emergency, n)
  VALUES (NEW.school_id, NEW.state, NEW.is_emergency, 1);
END""",
    """CREATE TRIGGER IF NOT EXISTS changes_tally_update
AFTER UPDATE OF school_id, state, is_emergency ON changes_change
WHEN OLD.school_id IS NOT NEW.school_id OR OLD.state IS NOT NEW.state
  OR OLD.is_emergency IS NOT NEW.is_emergency
BEGIN
  INSERT INTO changes_tally (school_id, state, is_emergency, n) VALUES
    (OLD.school_id, OLD.state, OLD.is_emergency, -1),
    (NEW.school_id, NEW.state, NEW.is_emergency, 1);
END""",
)
INSTALL = {"postgresql": POSTGRESQL, "sqlite": SQLITE}


def kept(using: str = "default") -> bool:
    """Whether the database `using` keeps tallies (PostgreSQL and SQLite do)."""
    return connections[using].vendor in INSTALL


def installed(using: str = "default") -> set[str]:
    """The tally triggers the RFCs' table has."""
    db = connections[using]
    with db.cursor() as cursor:
        if db.vendor == "postgresql":
            cursor.execute(
                "SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass AND tgname = ANY(%s)",
                [CHANGES, list(TRIGGERS)],
            )
        elif db.vendor == "sqlite":
            cursor.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s",
                [CHANGES],
            )
        else:
            return set()
        return {row[0] for row in cursor.fetchall()} & set(TRIGGERS)


def install(using: str = "default") -> bool:
    """Put the triggers on the RFCs' table (PostgreSQL: replaced, as they may have changed);
    where any was missing, count the tallies again. Returns whether it counted."""
    db = connections[using]
    if db.vendor not in INSTALL or CHANGES not in db.introspection.table_names():
        return False
    missing = set(TRIGGERS) - installed(using)
    with transaction.atomic(using=using), db.cursor() as cursor:
        for statement in INSTALL[db.vendor]:
            cursor.execute(statement)
        if missing:
            rebuild(using)
    return bool(missing)


def count_for(filterset: Any, schools: Sequence[int] | None) -> int | None:
    """How many RFCs the valid `filterset` lists, within `schools` (the caller's school ids;
    None for every school): from the tallies, or None when it filters by something they
    cannot tell. A search's list is as many as it found (`ChangeFilterSet.matches`, known
    once its `qs` is read): no count."""
    matches: int | None = getattr(filterset, "matches", None)
    if matches is not None:
        return matches
    chosen = {
        name: value
        for name, value in filterset.form.cleaned_data.items()
        if value not in EMPTY_VALUES and name not in UNFILTERED
    }
    if set(chosen) - TALLIED or not kept(filterset.queryset.db):
        return None
    rows = Tally.objects.all()
    if schools is not None:
        rows = rows.filter(school__in=list(schools))
    if "school" in chosen:
        rows = rows.filter(school__in=School.objects.filter(slug=chosen["school"]).values("pk"))
    if "state" in chosen:
        rows = rows.filter(state__in=list(chosen["state"]))
    if "is_emergency" in chosen:
        rows = rows.filter(is_emergency=chosen["is_emergency"])
    total: int | None = rows.aggregate(n=Sum("n"))["n"]
    return total or 0


def compact() -> int:
    """Fold the tallies into one row per school, state and kind (only the keys with more
    than one); returns the rows taken."""
    with transaction.atomic(), connection.cursor() as cursor:
        # Safe: the names are constants of this module.
        cursor.execute(
            f"DELETE FROM {TABLE} WHERE ({_COLUMNS}) IN "  # noqa: S608
            f"(SELECT {_COLUMNS} FROM {TABLE} GROUP BY {_COLUMNS} HAVING COUNT(*) > 1) "
            f"RETURNING {_COLUMNS}, n"
        )
        taken = cursor.fetchall()
        sums: Counter[Key] = Counter()
        for school, state, emergency, n in taken:
            sums[(school, state, bool(emergency))] += n
        Tally.objects.bulk_create(
            Tally(school_id=school, state=state, is_emergency=emergency, n=n)
            for (school, state, emergency), n in sorted(sums.items())
            if n
        )
    return len(taken)


def rebuild(using: str = "default", schools: Sequence[int] | None = None) -> None:
    """Count the RFCs of every school (or of `schools`) again from the rows, in one
    transaction, the RFCs locked against writes on PostgreSQL meanwhile. (A bulk load that
    left the triggers out, `bench-data`, counts its schools so.)"""
    db = connections[using]
    with transaction.atomic(using=using):
        if db.vendor == "postgresql":
            with db.cursor() as cursor:
                cursor.execute(f"LOCK TABLE {CHANGES} IN SHARE MODE")
        rows = Tally.objects.using(using).all()
        changes = Change.objects.using(using).all()
        if schools is not None:
            rows = rows.filter(school__in=list(schools))
            changes = changes.filter(school__in=list(schools))
        rows.delete()
        counted = (
            changes.order_by().values("school_id", "state", "is_emergency").annotate(n=Count("pk"))
        )
        Tally.objects.using(using).bulk_create(
            Tally(
                school_id=row["school_id"],
                state=row["state"],
                is_emergency=row["is_emergency"],
                n=row["n"],
            )
            for row in counted
        )


def unfolded() -> int:
    """How many rows there are beyond one per key (what `compact` would fold)."""
    keys = Tally.objects.values("school_id", "state", "is_emergency").distinct().count()
    return Tally.objects.count() - keys


_last_seen: dict[str, int] = {}


def run(now: datetime) -> int:
    """The worker's job: fold the tallies when rows were added since the last pass."""
    newest = Tally.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    if newest == _last_seen.get(connection.alias):
        return 0
    taken = compact()
    _last_seen[connection.alias] = (
        Tally.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    )
    return taken
