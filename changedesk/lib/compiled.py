"""Hot queries of a fixed shape: built and compiled by the ORM once, then run with each
call's own values.

Django builds and compiles a queryset afresh every time it is asked. For the conflict
check's queries that is 0.5-2.6 ms each (measured: building and compiling the UNION of an
RFC's links and the links of the open RFCs around it, 2.6 ms; PostgreSQL plans and runs it
in less), paid by every RFC page, the agenda, the conflicts API and every approval. Such a
query is declared once, as a function building it:

    OTHERS = Compiled(
        lambda schools, start, end: Change.objects.filter(
            school_id__in=schools, planned_start__lt=end, planned_end__gt=start
        ).values_list("id", "title")
    )
    OTHERS.rows(schools=[3, 4], start=monday, end=friday)   # [(id, title), ...]

`build` is called with stand-ins for the values (numbers and times no row holds); the SQL
Django compiles from what it returns is kept, for that database and that shape, and each
call puts its own values in the stand-ins' places. The rows are converted as the ORM's
`values_list` converts them (a time read from SQLite, a boolean).

The rules, checked when a shape is first compiled (`ValueError` otherwise):

- a value is an `int` or a `datetime` (aware: a naive one is refused on every call), or a
  non-empty list of them, used only as an operand (a filter's value, an `__in` list), never
  computed from: a value worked out from a stand-in would be kept as a constant. Work such
  values out before the call and pass them too. Each shape is compiled twice, with two
  sets of stand-ins, and refused unless the two differ only in the stand-ins' places, each
  of which must be found;
- a list is a set of values, for an `__in`: it is padded to a power of two with its last
  value (so that the lists of a page, of any length, make a handful of shapes), and must
  not be empty (an empty `__in` matches nothing: answer that without asking);
- the queryset gives rows (`values_list`, not flat or named, or a `union` of them), not
  model instances, and selects only its columns (no `distinct()` ordered by another).

What stays out of the values (states, a constant interval) is compiled in as Django
compiles it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import QuerySet
from django.db.models.query import ValuesListIterable

# Stand-ins: two sets, far from any id or time a row holds. The numbers fit a 32-bit
# positive integer: Django leaves a value out of an integer column's range out of the SQL.
_INT_BASES = (2_061_000_000, 2_071_000_000)
_TIME_BASES = (datetime(1111, 1, 1, tzinfo=UTC), datetime(1222, 2, 2, tzinfo=UTC))
# Shapes kept per query and database; more are compiled afresh (and the oldest dropped).
MAX_SHAPES = 64

Value = int | datetime
Slot = tuple[int, str, int | None, bool]  # param's place, value's name, list index, adapt


def _padded(values: Sequence[Value]) -> list[Value]:
    size = 1
    while size < len(values):
        size *= 2
    return [*values, *[values[-1]] * (size - len(values))]


class _Shape:
    """One shape's SQL, its parameters with the stand-ins' places, and its converters."""

    def __init__(
        self, sql: str, params: list[Any], slots: list[Slot], converters: list[Any]
    ) -> None:
        self.sql = sql
        self.params = params
        self.slots = slots
        self.converters = converters


class Compiled:
    """A query built by `build(**values)`, compiled once per database and shape (see the
    module's docstring)."""

    def __init__(self, build: Callable[..., QuerySet[Any]]) -> None:
        self.build = build
        self._shapes: dict[tuple[Any, ...], _Shape] = {}
        self._lock = threading.Lock()

    def rows(self, using: str = DEFAULT_DB_ALIAS, **values: Any) -> list[tuple[Any, ...]]:
        """The query's rows for `values`, as `values_list` would give them."""
        given: dict[str, Value | list[Value]] = {}
        for name, value in values.items():
            if isinstance(value, list | tuple | set | frozenset):
                if not value:
                    raise ValueError(f"{name}: an empty list (it matches nothing).")
                given[name] = _padded(list(value))
            else:
                given[name] = value
        key = (using, *((n, _size(v), _kind(v)) for n, v in sorted(given.items())))
        shape = self._shapes.get(key)
        if shape is None:
            shape = self._compile(using, given)
            with self._lock:
                if len(self._shapes) >= MAX_SHAPES:
                    self._shapes.pop(next(iter(self._shapes)))
                self._shapes[key] = shape
        connection = connections[using]
        params = list(shape.params)
        adapt = connection.ops.adapt_datetimefield_value
        for place, name, index, adapted in shape.slots:
            value = given[name]
            one: Any = value[index] if isinstance(value, list) and index is not None else value
            if adapted:
                if one.tzinfo is None:
                    raise ValueError(f"{name}: a naive datetime.")
                one = adapt(one)
            params[place] = one
        with connection.cursor() as cursor:
            cursor.execute(shape.sql, params)
            found: list[tuple[Any, ...]] = cursor.fetchall()
        if not shape.converters:
            return found
        converted = []
        for row in found:
            listed = list(row)
            for place, convs, expression in shape.converters:
                for convert in convs:
                    listed[place] = convert(listed[place], expression, connection)
            converted.append(tuple(listed))
        return converted

    def _compile(self, using: str, given: dict[str, Any]) -> _Shape:
        compiled = []
        for stand_in_set in (0, 1):
            stand_ins, places = _stand_ins(given, stand_in_set, connections[using])
            queryset = self.build(**stand_ins)
            if queryset._iterable_class is not ValuesListIterable:
                raise ValueError(f"{self.build!r}: give rows, with `values_list` (not flat).")
            compiler = queryset.query.get_compiler(using=using)
            sql, params = compiler.as_sql()
            if compiler.has_extra_select:
                raise ValueError(f"{self.build!r}: its SQL selects more than its columns.")
            slots = []
            for place, param in enumerate(params):
                found = _place_of(places, param)
                if found is not None:
                    slots.append((place, *found))
            missing = {(n, i) for n, i, _ in places.values()} - {(n, i) for _, n, i, _ in slots}
            if missing:
                raise ValueError(
                    f"{self.build!r}: the values {sorted(missing, key=str)} are not in the "
                    "SQL as given (computed from, or left out)."
                )
            compiled.append((sql, list(params), slots, compiler))
        (sql, params, slots, compiler), (sql_b, params_b, slots_b, _) = compiled
        own = {place for place, *_ in slots}
        pairs = list(zip(params, params_b, strict=False))
        if (
            sql != sql_b
            or slots != slots_b
            or len(params) != len(params_b)
            or any(a != b for n, (a, b) in enumerate(pairs) if n not in own)
        ):
            raise ValueError(
                f"{self.build!r}: its SQL depends on the values otherwise than by their "
                "places (a value computed from one is compiled in as a constant)."
            )
        fields = [s[0] for s in compiler.select[: compiler.col_count]]
        converters = [
            (place, convs, expression)
            for place, (convs, expression) in compiler.get_converters(fields).items()
        ]
        return _Shape(sql, params, slots, converters)


def _size(value: Any) -> int:
    return len(value) if isinstance(value, list) else -1


def _kind(value: Any) -> type:
    return type(value[0] if isinstance(value, list) else value)


def _stand_ins(
    given: dict[str, Any], which: int, connection: Any
) -> tuple[dict[str, Any], dict[Any, tuple[str, int | None, bool]]]:
    """Stand-ins for `given` (set `which`), and what each compiles to: its value's name,
    index in a list, and whether it is a time the database adapts."""
    stand_ins: dict[str, Any] = {}
    places: dict[Any, tuple[str, int | None, bool]] = {}
    counter = 0

    def one(name: str, index: int | None, value: Any) -> Any:
        nonlocal counter
        counter += 1
        if isinstance(value, bool) or not isinstance(value, int | datetime):
            raise ValueError(f"{name}: a compiled query's value is an int or a datetime.")
        if isinstance(value, datetime):
            if value.tzinfo is None:
                raise ValueError(f"{name}: a naive datetime.")
            stand_in: Any = _TIME_BASES[which] + timedelta(seconds=counter)
            places[(datetime, connection.ops.adapt_datetimefield_value(stand_in))] = (
                name,
                index,
                True,
            )
        else:
            stand_in = _INT_BASES[which] + counter
            places[(int, stand_in)] = (name, index, False)
        return stand_in

    for name, value in given.items():
        if isinstance(value, list):
            stand_ins[name] = [one(name, n, v) for n, v in enumerate(value)]
        else:
            stand_ins[name] = one(name, None, value)
    return stand_ins, places


def _place_of(
    places: dict[Any, tuple[str, int | None, bool]], param: Any
) -> tuple[str, int | None, bool] | None:
    """Which stand-in the compiled parameter `param` is, if any."""
    if isinstance(param, bool):
        return None
    if isinstance(param, int):
        return places.get((int, param))
    try:
        return places.get((datetime, param))
    except TypeError:  # unhashable (a list, on PostgreSQL an array): not a stand-in
        return None
