"""Search that scales: PostgreSQL's full-text search on a stored `search_vector` column
with a GIN index, ranked; a plain search for each word within the text on SQLite.

A list's table gets its column in a migration (`add_search_vector`, which does nothing on
SQLite): a `tsvector` generated from the list's text columns, each with a weight (the
title counts more than the description), and a GIN index on it. The model does not
declare the column (SQLite has no `tsvector`); `search` reaches it by name.

    queryset = search(queryset, "boiler firewall", fields=("title", "description"))
    found = newest(queryset, "firmware", fields=("title", "description"))  # found.rows, .more

Every word given must match, as a word or the start of one ("firew" finds "firewall"),
after English stemming ("patches" finds "patched"). Results are ranked, best first, before
the queryset's own ordering; `also` adds rows that match another way (an RFC's reference),
ranked first.

`search` ranks every match: reading and ranking them all costs time in proportion to how
many there are, which a list of a few thousand rows does not notice. `newest` bounds it,
for a list that grows without end (the change log, issue 9): it ranks only the first
`limit` matches in the list's own order (the newest `LIMIT`, 200, on the change log), and
says whether more matched. Finding them costs little whatever the list's size: a common
word is met within the first few thousand rows of the list's index (`firmware`, in one
RFC title in ten: the newest 200 matches of a ten-school person at 500,000 RFCs in 5 ms,
where counting and ranking all 12,000 took 180 ms), a rare one the GIN index finds. Words
often found together are sought among the list's newest rows first (`_walked`). The rows
matching `also` are added whatever their age.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

from django.db import connection, connections, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.operations.special import RunPython
from django.db.models import Case, FloatField, Q, QuerySet, Value, When
from django.db.models.expressions import Expression

from changedesk.lib.paging import ids_of

# PostgreSQL's English configuration (Snowball's English stemmer and stop words), which
# serves British spellings as well as American ones.
CONFIG = "english"
COLUMN = "search_vector"
MAX_WORDS = 8
# How many matches `newest` ranks unless told: the change log's bound.
LIMIT = 200
# How many of the list's newest rows a search of several words reads first (`_walked`).
WALK = 4000
PUNCTUATION = "-./_:@\\"
_WORD = re.compile(r"[^\W_]+")

_Row = TypeVar("_Row", bound=models.Model)


def words(value: str) -> list[str]:
    """The words of a search, at most `MAX_WORDS`: runs of letters and digits only,
    so none can be read as the query language's operators."""
    return _WORD.findall(value)[:MAX_WORDS]


class _Vector(Expression):
    """The list's own `search_vector` column, under whatever alias the query gives the table."""

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, tuple[Any, ...]]:
        alias = compiler.quote_name_unless_alias(compiler.query.get_initial_alias())
        return f"{alias}.{COLUMN}", ()


class _Query(Expression):
    """`template` around the column and the words' query: `{vector}` and `{query}`."""

    def __init__(self, template: str, query: str, output_field: models.Field[Any, Any]) -> None:
        super().__init__(output_field=output_field)
        self.template = template
        self.query = query

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, tuple[Any, ...]]:
        vector, _ = compiler.compile(_Vector())
        sql = self.template.format(vector=vector, query="to_tsquery(%s::regconfig, %s)")
        return sql, (CONFIG, self.query)


def search(
    queryset: QuerySet[_Row], value: str, fields: tuple[str, ...], also: Q | None = None
) -> QuerySet[_Row]:
    """The rows of `queryset` matching `value` (or `also`), best first: every match."""
    condition, rank = _matching(value, fields)
    if also is not None:
        condition |= also
    return _ranked(queryset.filter(condition), rank, also)


@dataclass(frozen=True)
class Found(Generic[_Row]):
    """What `newest` found: `rows`, the matches ranked best first (at most `limit` of
    them, besides those matching `also`), `more`, whether more matched than that, and
    `count`, how many `rows` holds (known without counting them)."""

    rows: QuerySet[_Row]
    more: bool
    count: int


def newest(
    queryset: QuerySet[_Row],
    value: str,
    fields: tuple[str, ...],
    also: Q | None = None,
    limit: int = LIMIT,
) -> Found[_Row]:
    """The first `limit` rows of `queryset` (in its own order: the newest, on the change
    log) matching `value`, and those matching `also` however old, best first; whether
    more matched. Give `queryset` every other filter of the list first: the bound is of
    what they leave.

    One query finds the matches' ids (two for some searches of several words, one more
    for `also`'s); the rows are then those ids, so counting and ranking them costs little
    however many rows match."""
    if limit < 1:
        raise ValueError("A search ranks at least one match.")
    condition, rank = _matching(value, fields)
    found = words(value)
    ids: list[Any] = []
    if len(found) > 1 and also is None:  # (the words of a reference are rare)
        ids = _walked(queryset, found, limit + 1) or []
    if found and len(ids) <= limit:
        ids = list(ids_of(queryset.filter(condition).order_by(*_order(queryset)))[: limit + 1])
    more = len(ids) > limit
    del ids[limit:]
    if also is not None:
        # By their ids too: an OR of the two conditions would have the database test every
        # row of the list against both, where each alone is found by an index.
        ids.extend(ids_of(queryset.filter(also).order_by()))
    ids = list(dict.fromkeys(ids))
    return Found(_ranked(queryset.filter(_among(queryset, ids)), rank, also), more, len(ids))


class _Among(Expression):
    """The row's primary key is one of `ids`: `= ANY` of one array on PostgreSQL (two
    hundred values compiled, sent and read as one, by each query of the page)."""

    output_field = models.BooleanField()

    def __init__(self, ids: list[Any]) -> None:
        super().__init__()
        self.ids = ids

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, tuple[Any, ...]]:
        alias = compiler.quote_name_unless_alias(compiler.query.get_initial_alias())
        pk = compiler.query.model._meta.pk
        column = connection.ops.quote_name(pk.column)
        return f"{alias}.{column} = ANY(%s::{pk.db_type(connection)}[])", (self.ids,)


def _among(queryset: QuerySet[Any], ids: list[Any]) -> Q:
    """`queryset`'s rows with the primary keys `ids`."""
    if connections[queryset.db].vendor != "postgresql" or not ids:
        return Q(pk__in=ids)
    return Q(_Among(ids))


def _walked(queryset: QuerySet[Any], found: list[str], limit: int) -> list[Any] | None:
    """On PostgreSQL, the ids of the first `limit` rows matching `found` among the first
    `WALK` rows of `queryset` in its order, read from its index in that order and tested
    one by one; None where its order is not of its own columns (or on another database).

    Words often found together ("update firmware", from the same kind of title) would be
    thought rare by PostgreSQL, which takes each word's frequency as independent of the
    others': it would then read and test every row of the list, or every match through
    the GIN index (45-95 ms for a person of one or of ten schools at 500,000 RFCs), where
    the newest few thousand rows hold enough of them (1-7 ms). Fewer there, and the query
    that finds them all follows."""
    order = _order(queryset)
    own = {f.name for f in queryset.model._meta.concrete_fields if not f.is_relation} | {"pk"}
    names = [o.lstrip("-") if isinstance(o, str) else "" for o in order]
    if connections[queryset.db].vendor != "postgresql" or not own.issuperset(names):
        return None
    rows = (
        queryset.select_related(None)
        .prefetch_related(None)
        .order_by(*order)
        .annotate(_vector=_Vector(output_field=models.TextField()))
        .values_list("pk", "_vector", *names)[:WALK]
    )
    sql, params = rows.query.sql_with_params()
    columns = ", ".join(f"c{n}" for n in range(len(names) + 2))
    ordering = ", ".join(
        f"r.c{n} {'DESC' if o.startswith('-') else 'ASC'}" for n, o in enumerate(order, start=2)
    )
    # The rows are Django's SQL (values as parameters), the columns the model's.
    walk = (
        f"SELECT r.c0 FROM ({sql}) AS r({columns}) "  # noqa: S608
        f"WHERE r.c1 @@ to_tsquery(%s::regconfig, %s) ORDER BY {ordering} LIMIT %s"
    )
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(walk, [*params, CONFIG, _tsquery(found), limit])
        return [row[0] for row in cursor.fetchall()]


def _matching(value: str, fields: tuple[str, ...]) -> tuple[Q, Any]:
    """Whether a row matches every word of `value` (no row, when it has no word), and
    its rank, higher for a better match."""
    found = words(value)
    if not found:
        return Q(pk__in=[]), Value(0.0)
    if connection.vendor == "postgresql":
        query = _tsquery(found)
        matches = _Query("{vector} @@ {query}", query, models.BooleanField())
        return Q(matches), _Query("ts_rank({vector}, {query})", query, FloatField())
    # Each word somewhere in the fields; the first field (the title) holding them all
    # counts more.
    condition = Q()
    in_title = Q()
    for word in found:
        anywhere = Q(pk__in=[])
        for field in fields:
            anywhere |= Q(**{f"{field}__icontains": word})
        condition &= anywhere
        in_title &= Q(**{f"{fields[0]}__icontains": word})
    return condition, Case(When(in_title, then=Value(1.0)), default=0.0)


def _order(queryset: QuerySet[Any]) -> list[Any]:
    return [*(queryset.query.order_by or queryset.model._meta.ordering or ["-pk"])]


def _ranked(queryset: QuerySet[_Row], rank: Any, also: Q | None) -> QuerySet[_Row]:
    """`queryset` best first (`also`'s rows first of all), then in its own order."""
    if also is not None:
        rank = Case(When(also, then=Value(1000.0)), default=rank, output_field=FloatField())
    ranked = cast("QuerySet[_Row]", queryset.alias(_search_order=rank))
    return ranked.order_by("-_search_order", *_order(queryset))


def _tsquery(found: list[str]) -> str:
    return " & ".join(f"{word}:*" for word in found)


def add_search_vector(table: str, weighted: dict[str, str]) -> RunPython:
    """A migration operation: on PostgreSQL, `table` gets a stored `search_vector` generated
    from its text columns (`weighted`: column to weight, "A" to "D") and a GIN index on
    it; elsewhere nothing."""
    # Punctuation inside a word is a space to the index, as it is to `words`: "SW-02",
    # "10.0.0.1" and "it@school.org" are found by their parts (PostgreSQL's parser would
    # read "-02" as a negative number, and a whole address as one token).
    spaced = "".join(" " for _ in PUNCTUATION)
    parts = " || ".join(
        f"setweight(to_tsvector('{CONFIG}'::regconfig, translate(coalesce({column}, ''), "
        f"'{PUNCTUATION}', '{spaced}')), '{weight}')"
        for column, weight in weighted.items()
    )

    def forward(apps: Any, schema_editor: BaseDatabaseSchemaEditor) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        schema_editor.execute(
            f"ALTER TABLE {table} ADD COLUMN {COLUMN} tsvector GENERATED ALWAYS AS ({parts}) STORED"
        )
        schema_editor.execute(f"CREATE INDEX {table}_search ON {table} USING gin ({COLUMN})")

    def backward(apps: Any, schema_editor: BaseDatabaseSchemaEditor) -> None:
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(f"ALTER TABLE {table} DROP COLUMN {COLUMN}")

    return RunPython(forward, backward, elidable=False)
