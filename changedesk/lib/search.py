"""Search that scales: PostgreSQL's full-text search on a stored `search_vector` column
with a GIN index, ranked; a plain search for each word within the text on SQLite.

A list's table gets its column in a migration (`add_search_vector`, which does nothing on
SQLite): a `tsvector` generated from the list's text columns, each with a weight (the
title counts more than the description), and a GIN index on it. The model does not
declare the column (SQLite has no `tsvector`); `search` reaches it by name.

    queryset = search(queryset, "boiler firewall", fields=("title", "description"))

Every word given must match, as a word or the start of one ("firew" finds "firewall"),
after English stemming ("patches" finds "patched"). Results are ranked, best first, before
the queryset's own ordering; `also` adds rows that match another way (an RFC's reference),
ranked first.
"""

from __future__ import annotations

import re
from typing import Any, TypeVar, cast

from django.db import connection, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.operations.special import RunPython
from django.db.models import Case, FloatField, Q, QuerySet, Value, When
from django.db.models.expressions import Expression

# PostgreSQL's English configuration (Snowball's English stemmer and stop words), which
# serves British spellings as well as American ones.
CONFIG = "english"
COLUMN = "search_vector"
MAX_WORDS = 8
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
    """The rows of `queryset` matching `value` (or `also`), best first."""
    found = words(value)
    rank: Any = Value(0.0)
    condition = Q(pk__in=[])
    if connection.vendor == "postgresql":
        if found:
            query = _tsquery(found)
            matches = _Query("{vector} @@ {query}", query, models.BooleanField())
            rank = _Query("ts_rank({vector}, {query})", query, FloatField())
            condition = Q(matches)
    elif found:
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
        rank = Case(When(in_title, then=Value(1.0)), default=0.0)
    if also is not None:
        condition |= also
        rank = Case(When(also, then=Value(1000.0)), default=rank, output_field=FloatField())
    ordering = [*(queryset.query.order_by or queryset.model._meta.ordering or ["-pk"])]
    ranked = cast("QuerySet[_Row]", queryset.alias(_search_order=rank))
    return ranked.filter(condition).order_by("-_search_order", *ordering)


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
