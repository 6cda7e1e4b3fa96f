"""Other planned things on the forward schedule: the seam an app above may plug into.

The schedule shows RFCs. An app above it (release management: a release over its planned
window) adds what it plans by registering a *provider* from its `AppConfig.ready()`:

    planned.register("releases", provider)

A provider is given the schools shown and a time range [start, end) and returns the
`Band`s that meet it: a title, a link, a start and an end, the school, a kind and a state
("Release", "Build"). It must answer in a fixed number of queries, bounded by the range
(a filter on the schools' ids and on the window, which an index serves), and return at most
`LIMIT` bands. When it has more, it returns a `Cut` of its first `LIMIT` with how many
there are in all (`Cut(bands, total=n)`), and the page says "and N more" (`shown`); a
plain list longer than `LIMIT` is cut here and counted by its length. The schedule never
imports the app: it only calls what was registered.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from changedesk.accounts.models import School

# The most bands one provider adds to one page.
LIMIT = 50


@dataclass(frozen=True)
class Band:
    """Something planned over a window, shown as a band across it."""

    title: str
    url: str
    start: datetime
    end: datetime
    school_id: int
    kind: str
    state: str = ""
    school_name: str = ""


class Cut(list[Band]):
    """A provider's first `LIMIT` bands, with how many meet the range in all."""

    def __init__(self, bands: Iterable[Band], *, total: int) -> None:
        super().__init__(bands)
        self.total = total


@dataclass(frozen=True)
class Shown:
    """What the page shows: the bands, and how many more of each kind were left off."""

    bands: list[Band]
    more: list[tuple[str, int]] = field(default_factory=list)


Provider = Callable[[Sequence[School], datetime, datetime], list[Band]]

_providers: dict[str, Provider] = {}


def register(name: str, provider: Provider) -> None:
    """Add (or replace) the provider called `name`."""
    _providers[name] = provider


def unregister(name: str) -> None:
    _providers.pop(name, None)


def bands(schools: Sequence[School], start: datetime, end: datetime) -> list[Band]:
    """Every provider's bands meeting [start, end) in `schools`, by start, each named with
    its school (at most `LIMIT` of each provider: `shown` says how many more)."""
    return shown(schools, start, end).bands


def shown(schools: Sequence[School], start: datetime, end: datetime) -> Shown:
    """The bands of `bands`, and for each provider that had more than `LIMIT`, its kind
    and how many were left off."""
    if not schools or not _providers:
        return Shown([])
    names = {s.pk: s.name for s in schools}
    found: list[Band] = []
    more: list[tuple[str, int]] = []
    for name in sorted(_providers):
        given = _providers[name](schools, start, end)
        total = given.total if isinstance(given, Cut) else len(given)
        if total > LIMIT:
            kind = given[0].kind if given else name
            more.append((kind, total - LIMIT))
        for band in given[:LIMIT]:
            if band.school_id in names and band.start < end and band.end > start:
                found.append(
                    Band(
                        title=band.title,
                        url=band.url,
                        start=band.start,
                        end=band.end,
                        school_id=band.school_id,
                        kind=band.kind,
                        state=band.state,
                        school_name=band.school_name or names[band.school_id],
                    )
                )
    return Shown(sorted(found, key=lambda b: (b.start, b.end, b.title)), more)
