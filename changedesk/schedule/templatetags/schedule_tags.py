"""The schedule pages' repeated parts, rendered in Python.

A busy month shows 42 days with a few hundred RFCs, and the agenda 50 rows with their
conflicts: a template's variables, tags, `reverse` and `date` filters for each would
cost more than the queries behind the whole page (issue 9 measured 14 ms of a month's
template at 500,000 RFCs). So the page (`views.forward`) renders each day of the month
or week (`DayRenderer`) and each row of the agenda (`agenda_row_html`) here, once, and
the templates lay them out: the table, the list, the headings. The markup written here
is the markup the templates would write, as they wrote it before (the view tests and
the browser tests read it).

`item_options` renders the item filter's options for the same reason: a user of ten
schools has hundreds of items.

Every value put into the HTML here is escaped (`html.escape`, as Django's `escape`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from html import escape

from django import template
from django.urls import reverse
from django.utils.formats import localize
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from changedesk.changes.choices import State
from changedesk.changes.extensions import Note
from changedesk.changes.models import Change
from changedesk.changes.templatetags.cards import marks_html
from changedesk.configuration.models import ConfigurationItem
from changedesk.schedule.calendar import EN_DASH, day_abbr, month_abbr
from changedesk.schedule.conflicts import Conflict
from changedesk.schedule.models import CalendarPeriod, PeriodKind
from changedesk.schedule.queries import APPROVED_STATES, DayCell, Entry

register = template.Library()


def _emergency() -> str:
    """The emergency badge after an RFC's status, in the active language."""
    label = escape(gettext("Emergency"))
    return f' · <span class="badge emergency">{label}</span>'


KIND_LABELS = dict(PeriodKind.choices)
STATE_LABELS = dict(State.choices)


def joined(parts: Iterable[str]) -> SafeString:
    """Parts rendered here (every value in them escaped), as one piece of HTML."""
    return mark_safe("".join(parts))  # noqa: S308


def detail_pattern() -> str:
    """The RFC page's URL with `{}` for its id: one `reverse` for a page's links."""
    before, after = reverse("changes:detail", args=[987654321]).rsplit("987654321", 1)
    return f"{before}{{}}{after}"


# --- The days of the month and the week. ---


def entry_html(
    entry: Entry, *, continuing: bool, school_name: str | None, detail: str, tz: tzinfo
) -> str:
    """One RFC in a day: its time, reference and name, approved or not, emergency or not,
    and its school's name when given."""
    approved = entry.state in APPROVED_STATES
    classes = "entry is-approved" if approved else "entry is-pending"
    if entry.is_emergency:
        classes += " is-emergency"
    if continuing:
        classes += " is-continuing"
    when = (
        escape(gettext("continues"))
        if continuing
        else f"{entry.planned_start.astimezone(tz):%H:%M}"
    )
    status = escape(gettext("Approved") if approved else gettext("Not yet approved"))
    school = f" · {escape(school_name)}" if school_name is not None else ""
    return (
        f'<li class="{classes}"><a href="{detail.format(entry.id)}">'
        f'<span class="entry-time">{when}</span> <span class="ref">{entry.reference}</span> '
        f'{escape(entry.title)}</a><span class="entry-status">{status}'
        f"{_emergency() if entry.is_emergency else ''}{school}</span></li>"
    )


def period_label(period: CalendarPeriod) -> str:
    """ "Holiday: Easter holiday", "Hard freeze: Census day", as plain text."""
    if period.kind == PeriodKind.FREEZE:
        kind = gettext("Hard freeze") if period.is_hard else gettext("Freeze")
    else:
        kind = str(KIND_LABELS.get(period.kind, period.kind))
    return f"{kind}: {period.name}"


def period_html(period: CalendarPeriod, after: str = "") -> str:
    """A calendar period as an item of a list, `after` (plain text) after its label."""
    hard = " is-hard" if period.is_hard else ""
    return (
        f'<li class="period period-{escape(period.kind)}{hard}">'
        f"{escape(period_label(period))}{escape(after)}</li>"
    )


def periods_html(items: Sequence[str]) -> SafeString:
    """A list of periods from their items (`period_html`), or nothing."""
    if not items:
        return SafeString("")
    return mark_safe(f'<ul class="periods">{"".join(items)}</ul>')  # noqa: S308


@dataclass
class DayRenderer:
    """Renders the days of one month or week page. An RFC running on over several days,
    or a period over weeks, is rendered once and reused."""

    forward_url: str
    # The query string of the agenda from a day: the page's, around the day's ISO date.
    agenda_link: tuple[str, str]
    detail: str  # the RFC page's URL, `detail_pattern()`
    tz: tzinfo
    # The schools' names by id, to name each RFC's school after it (the week), or None.
    school_names: dict[int, str] | None
    _entries: dict[tuple[int, bool], str] = field(default_factory=dict)
    _periods: dict[int, str] = field(default_factory=dict)

    def month(self, cells: list[DayCell]) -> list[SafeString]:
        """The month's weeks: each the cells of its seven days."""
        return [
            joined(self.month_day(cell) for cell in cells[i : i + 7])
            for i in range(0, len(cells), 7)
        ]

    def week(self, cells: list[DayCell]) -> SafeString:
        """The week's days: each an item of its list."""
        return joined(self.week_day(cell) for cell in cells)

    def month_day(self, cell: DayCell) -> str:
        """A day of the month: a cell of its table, with the whitespace the template
        around it expects."""
        href = self._href(cell)
        current = ' aria-current="date"' if cell.is_today else ""
        entries = self._entry_list(cell, "        ")
        more = ""
        if cell.more:
            more = (
                f'<a class="more" href="{href}">'
                + escape(gettext("%(count)s more") % {"count": localize(cell.more)})
                + '<span class="visually-hidden"> '
                + escape(gettext("on %(day)s") % {"day": cell.day_month})
                + "</span></a>"
            )
        return (
            f'\n      <td class="day{cell.flags}"{current}>\n'
            f'        <a class="day-number" href="{href}">'
            f'<span class="visually-hidden">{cell.weekday} </span>{cell.day.day}'
            f'<span class="visually-hidden"> {cell.month_year}</span></a>\n'
            f"        {self._periods_html(cell.periods)}\n"
            f"        {entries}\n"
            f"        {more}\n"
            "      </td>\n    "
        )

    def week_day(self, cell: DayCell) -> str:
        """A day of the week: an item of its list, with the whitespace the template
        around it expects."""
        current = ' aria-current="date"' if cell.is_today else ""
        today = ""
        if cell.is_today:
            today = ' <span class="muted">' + escape(gettext("(today)")) + "</span>"
        entries = self._entry_list(cell, "    ")
        if not entries and not cell.more:
            entries = '<p class="empty">' + escape(gettext("No changes.")) + "</p>"
        more = ""
        if cell.more:
            more = (
                f'<p><a class="more" href="{self._href(cell)}">'
                + escape(
                    gettext("%(count)s more on %(day)s")
                    % {"count": localize(cell.more), "day": cell.day_month}
                )
                + "</a></p>"
            )
        return (
            f'\n  <li class="week-day{cell.flags}"{current}>\n'
            f"    <h3>{cell.weekday} {cell.day_month}{today}</h3>\n"
            f"    {self._periods_html(cell.periods)}\n"
            f"    {entries}\n"
            f"    {more}\n"
            "  </li>\n"
        )

    def _href(self, cell: DayCell) -> str:
        before, after = self.agenda_link
        return escape(f"{self.forward_url}?{before}{cell.day.isoformat()}{after}")

    def _entry_list(self, cell: DayCell, indent: str) -> str:
        """A day's RFCs (those running on first) as a list, its lines indented by `indent`
        for the day's place in the page; "" for none."""
        if not (cell.continuing or cell.starting):
            return ""
        return (
            '<ul class="entries">\n'
            f"{indent}  {self._entries_html(cell.continuing, True)}\n"
            f"{indent}  {self._entries_html(cell.starting, False)}\n"
            f"{indent}</ul>"
        )

    def _entries_html(self, entries: list[Entry], continuing: bool) -> str:
        found = []
        for entry in entries:
            key = (entry.id, continuing)
            if key not in self._entries:
                names = self.school_names
                self._entries[key] = entry_html(
                    entry,
                    continuing=continuing,
                    school_name=None if names is None else names.get(entry.school_id, ""),
                    detail=self.detail,
                    tz=self.tz,
                )
            found.append(self._entries[key])
        return "".join(found)

    def _periods_html(self, periods: list[CalendarPeriod]) -> str:
        for period in periods:
            if period.pk not in self._periods:
                self._periods[period.pk] = period_html(period)
        return periods_html([self._periods[p.pk] for p in periods])


# --- The agenda. ---


def agenda_periods_html(
    periods: Iterable[CalendarPeriod], tz: tzinfo, *, show_school: bool
) -> SafeString:
    """The calendar periods over the agenda's days, with their times (and schools)."""
    items = []
    words = None
    for period in periods:
        words = words or AgendaWords.now()
        school = f", {period.school.name}" if show_school else ""
        span = local_span(period.starts_at, period.ends_at, tz, words)
        items.append(period_html(period, f" ({span}){school}"))
    return periods_html(items)


@dataclass(frozen=True)
class AgendaWords:
    """The words every row of the agenda repeats, in the active language, escaped: looked
    up once a page (`now`) rather than a dozen times a row (a translated message costs
    microseconds to look up, and the agenda has fifty rows)."""

    days: tuple[str, ...]
    months: tuple[str, ...]  # [0] is unused: months count from 1
    states: dict[str, str]
    emergency: str
    approved: str
    not_yet_approved: str
    school: str
    when: str
    change: str
    state: str
    conflicts: str
    blocks: str
    none: str

    @classmethod
    def now(cls) -> AgendaWords:
        return cls(
            days=tuple(day_abbr(d) for d in range(7)),
            months=("", *(month_abbr(date(2000, m, 1)) for m in range(1, 13))),
            states={key: escape(gettext(label)) for key, label in STATE_LABELS.items()},
            emergency=escape(gettext("Emergency")),
            approved=escape(gettext("Approved")),
            not_yet_approved=escape(gettext("Not yet approved")),
            school=escape(gettext("School")),
            when=escape(gettext("When")),
            change=escape(gettext("Change")),
            state=escape(gettext("State")),
            conflicts=escape(gettext("Conflicts")),
            blocks=escape(gettext("Blocks approval:")),
            none=escape(gettext("None")),
        )


def local_time(moment: datetime, tz: tzinfo, words: AgendaWords | None = None) -> str:
    """ "Mon 1 Dec 18:00", as the templates' `date:"D j M H:i"` writes it."""
    local = moment.astimezone(tz)
    if words is None:
        return f"{day_abbr(local.weekday())} {local.day} {month_abbr(local)} {local:%H:%M}"
    return f"{words.days[local.weekday()]} {local.day} {words.months[local.month]} {local:%H:%M}"


def local_span(start: datetime, end: datetime, tz: tzinfo, words: AgendaWords | None = None) -> str:
    """From `start` to `end` in `tz`, as the agenda writes it (`local_time`, a dash, ...)."""
    return f"{local_time(start, tz, words)} {EN_DASH} {local_time(end, tz, words)}"


def conflicts_html(conflicts: Iterable[Conflict], words: AgendaWords | None = None) -> str:
    """An agenda row's conflicts as a list, the ones that block approval said so; or None."""
    words = words or AgendaWords.now()
    items = [
        f'<li class="conflict is-hard"><strong>{words.blocks}</strong> {escape(c.message)}</li>'
        if c.hard
        else f'<li class="conflict">{escape(c.message)}</li>'
        for c in conflicts
    ]
    if not items:
        return f'<span class="muted">{words.none}</span>'
    return f'<ul class="conflict-list">{"".join(items)}</ul>'


def agenda_row_html(
    change: Change,
    conflicts: Iterable[Conflict],
    *,
    detail: str,
    tz: tzinfo,
    school_name: str | None,
    words: AgendaWords | None = None,
    marks: Iterable[Note] = (),
) -> SafeString:
    """An RFC as a row of the agenda: when, which (with the apps' marks on it, e.g. the
    trust-wide change it is part of), its state, its school (when given) and its
    conflicts, with the whitespace the template around it expects; `words`: the page's
    (`AgendaWords.now()`), looked up here when not given."""
    assert change.planned_start is not None and change.planned_end is not None
    words = words or AgendaWords.now()
    approved = change.state in APPROVED_STATES
    css = "is-approved" if approved else "is-pending"
    emergency = ""
    if change.is_emergency:
        css += " is-emergency"
        emergency = f' <span class="badge emergency">{words.emergency}</span>'
    status = words.approved if approved else words.not_yet_approved
    state = escape(change.state)
    school = (
        f'<td data-label="{words.school}">{escape(school_name)}</td>'
        if school_name is not None
        else ""
    )
    state_label = words.states.get(change.state) or escape(change.state)
    span = local_span(change.planned_start, change.planned_end, tz, words)
    return mark_safe(  # noqa: S308 - every value below is escaped
        f'\n    <tr class="{css}">\n'
        f'      <td data-label="{words.when}">{span}'
        "</td>\n"
        f'      <td data-label="{words.change}"><a href="{detail.format(change.pk)}">'
        f'<span class="ref">{change.reference}</span> {escape(change.title)}</a>'
        f"{marks_html(marks)}</td>\n"
        f'      <td data-label="{words.state}"><span class="state state-{state}">'
        f"{state_label}</span>{emergency} "
        f'<span class="entry-status">{status}</span></td>\n'
        f"      {school}\n"
        f'      <td data-label="{words.conflicts}">{conflicts_html(conflicts, words)}</td>\n'
        "    </tr>\n    "
    )


@register.simple_tag
def item_options(
    items: Iterable[tuple[int, str, str]], selected: ConfigurationItem | None, show_school: bool
) -> SafeString:
    """The item filter's options from (id, name, school's name): each item's name, with
    its school's when several are shown; the chosen one selected."""
    chosen = selected.pk if selected is not None else None
    options = []
    for pk, name, school_name in items:
        label = f"{escape(name)} ({escape(school_name)})" if show_school else escape(name)
        flag = " selected" if pk == chosen else ""
        options.append(f'<option value="{int(pk)}"{flag}>{label}</option>')
    return mark_safe("".join(options))  # noqa: S308 - every value above is escaped
