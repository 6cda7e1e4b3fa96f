"""Template helpers for the schedule pages.

`schedule_entry` renders one RFC in a day of the month or week in Python: a busy month
shows a few hundred of them, and an `{% include %}` (or a `reverse`) for each would cost
more than the queries behind the whole page. `item_options` renders the item filter's
options in Python for the same reason: a user of ten schools has hundreds of items.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import tzinfo

from django import template
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

from changedesk.changes.models import Change
from changedesk.configuration.models import ConfigurationItem
from changedesk.schedule.queries import APPROVED_STATES

register = template.Library()

EMERGENCY = mark_safe(' · <span class="badge emergency">Emergency</span>')


@register.filter
def is_approved(change: Change) -> bool:
    """Approved for implementation (or past it): shown solid; the rest are shown dashed."""
    return change.state in APPROVED_STATES


def _per_page(context: template.Context) -> tuple[str, tzinfo]:
    """The RFC page's URL pattern and the time zone, looked up once per page."""
    cache = context.render_context
    if "schedule_entry" not in cache:
        before, after = reverse("changes:detail", args=[987654321]).rsplit("987654321", 1)
        cache["schedule_entry"] = (f"{before}{{}}{after}", timezone.get_current_timezone())
    found: tuple[str, tzinfo] = cache["schedule_entry"]
    return found


@register.simple_tag(takes_context=True)
def schedule_entry(
    context: template.Context, change: Change, continuing: bool = False, show_school: bool = False
) -> SafeString:
    """One RFC in a day: its time, reference and name, approved or not, emergency or not."""
    detail, tz = _per_page(context)
    approved = change.state in APPROVED_STATES
    classes = ["entry", "is-approved" if approved else "is-pending"]
    if change.is_emergency:
        classes.append("is-emergency")
    if continuing:
        classes.append("is-continuing")
    assert change.planned_start is not None
    when = "continues" if continuing else f"{change.planned_start.astimezone(tz):%H:%M}"
    return format_html(
        '<li class="{}"><a href="{}"><span class="entry-time">{}</span> '
        '<span class="ref">{}</span> {}</a><span class="entry-status">{}{}{}</span></li>',
        " ".join(classes),
        detail.format(change.pk),
        when,
        change.reference,
        change.title,
        "Approved" if approved else "Not yet approved",
        EMERGENCY if change.is_emergency else "",
        format_html(" · {}", change.school.name) if show_school else "",
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
