"""Sections of the notice board that apps above `communication` add (the seam).

An app that `communication` may not import (release management: its policy in force)
puts a section on the school's notice board by registering it from its
`AppConfig.ready()`:

    register_section(BoardSection(key="release_policy",
                                  template="releases/policy/_board.html",
                                  context=policy_context))

`context(school, viewer)` gives the section's template its context (the template reads it
as `section`), or None when the section has nothing to show; `viewer` is the signed-in
person, or None on the public board and its print (opened by the secret link), where a
section links to no page that needs signing in. The board's template also gives the
section `printing` (True on the A4 print). Sections come after the notices, in the order
they were registered; each costs what its `context` queries (keep it to a fixed few).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from changedesk.accounts.models import School, User


@dataclass(frozen=True)
class BoardSection:
    key: str
    template: str
    context: Callable[[School, User | None], dict[str, Any] | None]


@dataclass(frozen=True)
class ShownSection:
    key: str
    template: str
    context: dict[str, Any]


_SECTIONS: dict[str, BoardSection] = {}


def register_section(section: BoardSection) -> None:
    """Add `section` to every notice board. The same section again is harmless; a key
    taken by another is refused."""
    taken = _SECTIONS.get(section.key)
    if taken is section:
        return
    if taken is not None:
        raise ValueError(f"The board section {section.key!r} is taken.")
    _SECTIONS[section.key] = section


def unregister_section(key: str) -> None:
    """Take the section `key` off (for tests)."""
    _SECTIONS.pop(key, None)


def sections_for(school: School, viewer: User | None) -> list[ShownSection]:
    """The registered sections with something to show on `school`'s board."""
    shown = []
    for section in list(_SECTIONS.values()):
        context = section.context(school, viewer)
        if context is not None:
            shown.append(ShownSection(section.key, section.template, context))
    return shown
