"""`{% load cards %}`: My work's cards and an RFC's state, written in Python.

{% work_card card %}               a card of My work (`queries.Card`), as `<li class="card">`
{% rfc_state change %}              an RFC's state and its emergency or standard badge, as
                                    `changes/_state.html` writes it (the RFC's pages keep it)
{% change_rows changes columns %}  the change log's rows, with the apps' columns and marks

A page of My work shows up to a hundred cards and the change log 25 rows. As templates
(an `{% include %}` of the card and of its state, two `{% blocktranslate %}` and a date
each; a row's seven cells) they took most of those pages' time: at trust scale, three
fifths of My work's time was the template engine's. Here the words every card and row
repeats are looked up once per language (`_words`) and each is one f-string, with what the
templates escaped escaped the same way: the HTML is the templates' to the byte
(`tests/test_cards.py` renders both).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from functools import lru_cache
from html import escape
from typing import Any

from django import template
from django.template.loader import get_template
from django.utils import formats, timezone, translation
from django.utils.dates import MONTHS_3, WEEKDAYS_ABBR
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext, gettext_noop, ngettext

from changedesk.changes.choices import State
from changedesk.changes.extensions import Column, Note

register = template.Library()


@dataclass(frozen=True)
class Words:
    """What every card repeats, in one language: the states' labels (escaped, as the
    templates escape a variable), the badges (not escaped, as `{% translate %}` of a literal
    is not), the two phrases and the day and month abbreviations of `date:"D j M"`."""

    states: dict[str, str]
    emergency: str
    standard: str
    raised_by: str
    starts: str
    days: tuple[str, ...]
    months: tuple[str, ...]  # [0] is unused: months count from 1
    # The change log's column headers (each cell's `data-label`) and an unplanned start.
    headers: tuple[str, ...]
    not_planned: str


@lru_cache(maxsize=16)
def _words(language: str | None) -> Words:
    """The words in `language`, the active one (the key only: a catalogue does not change
    while the process runs)."""
    emergency = (
        f' <span class="badge emergency" title="{gettext("Emergency change")}">'
        f"{gettext('Emergency')}</span>"
    )
    standard = (
        ' <span class="badge standard" title="'
        f'{gettext("Standard change: raised from a template approved once")}">'
        f"{gettext('Standard')}</span>"
    )
    return Words(
        states={state.value: escape(gettext(str(state.label))) for state in State},
        emergency=emergency,
        standard=standard,
        raised_by=gettext("raised by %(name)s"),
        starts=gettext("starts %(start)s"),
        days=tuple(str(WEEKDAYS_ABBR[d]) for d in range(7)),
        months=("", *(str(MONTHS_3[m]).title() for m in range(1, 13))),
        headers=tuple(
            gettext(h)
            for h in ("Reference", "Name", "State", "School", "Originator", "Planned start")
        ),
        not_planned=gettext("not planned"),
    )


def words() -> Words:
    return _words(translation.get_language())


def state_html(change: Any, found: Words) -> str:
    """`changes/_state.html`: the state's label, and a badge for an emergency or a
    standard change."""
    state = escape(change.state)
    label = found.states.get(change.state) or state
    badge = found.emergency if change.is_emergency else found.standard if change.is_standard else ""
    return f'<span class="state state-{state}">{label}</span>{badge}'


def _start(moment: datetime, found: Words, zone: tzinfo | None = None) -> str:
    """`date:"D j M Y, H:i"` in the current time zone (`zone`, if given), from the page's
    words."""
    local = timezone.localtime(moment, zone)
    return (
        f"{found.days[local.weekday()]} {local.day} {found.months[local.month]} "
        f"{local.year:04d}, {local.hour:02d}:{local.minute:02d}"
    )


def marks_html(marks: Iterable[Note]) -> str:
    """The apps' marks on an RFC (`extensions.marks`), each a line under it, linked where
    it has a page the person may see."""
    lines = []
    for note in marks:
        text = escape(note.text)
        if note.url:
            text = f'<a href="{escape(note.url)}">{text}</a>'
        lines.append(f'<span class="mark">{text}</span>')
    return "".join(lines)


@register.simple_tag
def rfc_state(change: Any) -> SafeString:
    return mark_safe(state_html(change, words()))  # noqa: S308 - escaped in state_html


@register.simple_tag
def work_card(card: Any) -> SafeString:
    """A card of My work: its reference and title, linked; its state, school, originator
    and start."""
    return mark_safe(card_html(card, words()))  # noqa: S308 - escaped in card_html


def card_html(card: Any, found: Words, zone: tzinfo | None = None) -> str:
    """`work_card`'s HTML, from the page's words (and its time zone, if given)."""
    meta = [
        state_html(card, found),
        escape(card.school_name),
        found.raised_by % {"name": escape(card.originator_name)},
    ]
    if card.planned_start:
        meta.append(found.starts % {"start": escape(_start(card.planned_start, found, zone))})
    emergency = " is-emergency" if card.is_emergency else ""
    return (
        f'<li class="card{emergency}">\n'
        f'      <a class="card-title" href="{escape(card.url)}"><span class="ref">'
        f"{escape(card.reference)}</span> {escape(card.title)}</a>\n"
        f'      <div class="card-meta">{" · ".join(meta)}</div>\n'
        "    </li>\n"
    )


@register.simple_tag
def change_rows(changes: Iterable[Any], columns: Iterable[Column]) -> SafeString:
    """The change log's rows: each RFC's reference (linked), title with the apps' marks
    (`change.marks`, set by the view), state, school, originator and planned start
    (`date:"j M Y H:i"`), then the apps' columns."""
    found = words()
    reference, name, state, school, originator, start = found.headers
    columns = list(columns)
    rows = []
    for change in changes:
        emergency = ' class="is-emergency"' if change.is_emergency else ""
        if change.planned_start:
            local = timezone.localtime(change.planned_start)
            starts = escape(
                f"{local.day} {found.months[local.month]} {local.year:04d} "
                f"{local.hour:02d}:{local.minute:02d}"
            )
        else:
            starts = f'<span class="muted">{found.not_planned}</span>'
        cells = "".join(
            f'<td data-label="{escape(c.header)}">{conditional_escape(c.value(change))}</td>'
            for c in columns
        )
        rows.append(
            f"\n    <tr{emergency}>\n"
            f'      <td data-label="{reference}"><a href="{escape(change.get_absolute_url())}">'
            f"{escape(change.reference)}</a></td>\n"
            f'      <td data-label="{name}">{escape(change.title)}'
            f"{marks_html(getattr(change, 'marks', ()))}</td>\n"
            f'      <td data-label="{state}">{state_html(change, found)}</td>\n'
            f'      <td data-label="{school}">{escape(change.school.name)}</td>\n'
            f'      <td data-label="{originator}">{escape(change.originator.display_name)}</td>\n'
            f'      <td data-label="{start}">{starts}</td>\n'
            f"      {cells}\n"
            "    </tr>\n  "
        )
    return mark_safe("".join(rows))  # noqa: S308 - every value above is escaped


@register.simple_tag
def work_sections(sections: Iterable[Any]) -> SafeString:
    """My work's sections (`queries.WorkSection`), as the page's `{% for section %}` loop
    wrote them: each one's title, count and hint, its cards (`work_card`; a group's row
    from `changes/_work_group.html`) and the link to the rest, or "None."."""
    found = words()
    zone = timezone.get_current_timezone()
    group_row = None
    parts = []
    for section in sections:
        key = conditional_escape(section.key)
        parts.append(
            f'\n<section class="work-section" aria-labelledby="section-{key}">\n'
            f'  <h2 id="section-{key}">{_translated(section.title)} '
            f'<span class="count">{_number(section.total)}</span></h2>\n'
            f'  <p class="muted">{_translated(section.hint)}</p>\n  '
        )
        if not section.changes:
            none = gettext("None.")
            parts.append(f'<p class="empty">{none}</p>\n</section>\n')
            continue
        parts.append('\n  <ul class="cards">\n    ')
        for entry in section.entries:
            if getattr(entry, "is_group", False):
                if group_row is None:
                    group_row = get_template("changes/_work_group.html")
                parts.append(f"\n    {group_row.render({'entry': entry})}\n    ")
            else:
                parts.append(f"\n    {card_html(entry, found, zone)}\n    ")
        parts.append(f"\n  </ul>\n  {_more(section)}\n  \n</section>\n")
    return mark_safe("".join(parts))  # noqa: S308 - every value above is escaped


def _translated(value: Any) -> str:
    """`{{ value|translated }}` (the `languages` filter), escaped."""
    return conditional_escape(gettext(str(value)) if value else value)


def _number(value: Any) -> str:
    """A number as `{{ value }}` writes it."""
    return conditional_escape(formats.localize(value))


def _more(section: Any) -> str:
    """The link to the rest of a section, in the words of its `{% blocktranslate %}`s
    (nothing when the section shows them all)."""
    if not section.more:
        return ""
    link = conditional_escape(section.link)
    more = _number(section.more)
    if section.exact:
        see = _blocktranslate(
            gettext_noop("See all %(total)s in the change log"), total=_number(section.total)
        )
        rest = _blocktranslate(gettext_noop("%(more)s more"), more=more)
        return f'<p class="more"><a href="{link}">{see}</a> <span class="muted">({rest})</span></p>'
    rest = _blocktranslate(
        gettext_noop("%(more)s more here; %(note)s"), more=more, note=_translated(section.note)
    )
    open_log = gettext("Open the change log for these steps")
    return (
        f'<p class="more"><a href="{link}">{open_log}</a> <span class="muted">({rest})</span></p>'
    )


def _blocktranslate(message: str, **values: str) -> str:
    """`{% blocktranslate with ... %}message{% endblocktranslate %}` given its values as
    written (escaped): the translation with them, or the message if it does not take them."""
    try:
        return gettext(message) % values
    except (KeyError, ValueError):
        return message % values


@register.simple_tag
def school_roles(memberships: Iterable[Any]) -> SafeString:
    """My work's list of the person's schools, each with how many roles they hold there,
    as its `{% for m in memberships %}` loop wrote it."""
    parts = []
    for membership in memberships:
        count = len(membership.role_list)
        values = {"counter": _number(count)}
        try:
            roles = ngettext("%(counter)s role", "%(counter)s roles", count) % values
        except (KeyError, ValueError):  # as `{% blocktranslate %}`: the message in English
            roles = ("%(counter)s role" if count == 1 else "%(counter)s roles") % values
        parts.append(f"{conditional_escape(membership.school.name)} ({roles})")
    return mark_safe(", ".join(parts))  # noqa: S308 - every value above is escaped
