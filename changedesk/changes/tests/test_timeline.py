"""An RFC's history, written in Python (`templatetags/timeline.py`), gives the HTML the
template loop it replaced gave, to the byte: in English and in Welsh, in summer and in
winter time, for deputies and a committee's authority, comments, outcomes, decision links,
the apps' notes, an edit's differences (items, empty values, long and unnormalised text)
and digests, with text that must be escaped."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from django import template
from django.template import Context, Engine, Template, engines
from django.utils import timezone, translation

from changedesk.accounts.models import User
from changedesk.changes import extensions
from changedesk.changes.models import Change, ChangeEvent

# `changes/detail.html`'s history loop as it was (between `<ol class="timeline">` and `</ol>`).
LOOP = (
    "{% for event in events %}\n"
    '      <li class="event event-{{ event.kind }}">\n'
    '        <p class="event-head">{% blocktranslate with kind=event.get_kind_display'
    "|translated name=event.actor.display_name %}<strong>{{ kind }}</strong> by {{ na"
    'me }}{% endblocktranslate %}{% if event.on_behalf_of %} <span class="deputy">({%'
    " if event|by_authority %}{% blocktranslate with name=event.on_behalf_of.display_"
    "name %}for {{ name }}{% endblocktranslate %}{% else %}{% blocktranslate with nam"
    "e=event.on_behalf_of.display_name %}deputy for {{ name }}{% endblocktranslate %}"
    "{% endif %})</span>{% endif %}</p>\n"
    '        <p class="event-meta"><time datetime="{{ event.created_at|date:\'c\' }}">{'
    '{ event.created_at|date:"j M Y, H:i" }}</time>{% if event.is_state_change and ev'
    "ent.from_state %} · {{ event.get_from_state_display|translated }} → {{ event.get"
    "_to_state_display|translated }}{% endif %}</p>\n"
    "        {% if event.comment %}<blockquote>{{ event.comment|linebreaksbr }}</bloc"
    "kquote>{% endif %}\n"
    "        {% if event.data.outcome %}<p>{% blocktranslate with outcome=event.data."
    "outcome|outcome_label|translated|lower %}Outcome: {{ outcome }}{% endblocktransl"
    "ate %}</p>{% endif %}\n"
    '        {% if event.data.via == "email_link" %}<p class="event-meta">{% translat'
    'e "Decided through the link in an e-mail." %}</p>{% endif %}\n'
    "        {% event_notes event %}\n"
    '        {% if event.kind == "edit" and event.diffs %}\n'
    '        <details>{% translate "(none)" as none %}{% translate "(empty)" as empty'
    " %}<summary>{% blocktranslate count counter=event.diffs|length trimmed %}{{ coun"
    "ter }} field changed{% plural %}{{ counter }} fields changed{% endblocktranslate"
    " %}</summary>\n"
    '          <ul class="diffs">{% for diff in event.diffs %}<li><span class="diff-f'
    'ield">{{ diff.field }}</span>: {% if diff.field == "items" %}<del>{{ diff.before'
    '|join:", "|default:none|truncatechars:120 }}</del> → <ins>{{ diff.after|join:", '
    '"|default:none|truncatechars:120 }}</ins>{% else %}<del>{{ diff.before|default_i'
    "f_none:empty|truncatechars:120 }}</del> → <ins>{{ diff.after|default_if_none:emp"
    "ty|truncatechars:120 }}</ins>{% endif %}</li>{% endfor %}</ul>\n"
    "        </details>\n"
    "        {% endif %}\n"
    '        {% if event.digest %}<p class="digest" title="{% translate "SHA-256 of t'
    'he content approved" %}">{% blocktranslate with digest=event.digest|truncatechar'
    "s:13 %}Approved content {{ digest }}{% endblocktranslate %}</p>{% endif %}\n"
    "      </li>\n"
    "      {% endfor %}"
)
OLD = "{% load i18n languages rfc old_history %}" + LOOP
NEW = "{% load timeline %}{% rfc_timeline events %}"

# The tag and the filter the loop used, and the notes' template, as the page had them
# (`changes/templatetags/rfc.py`, `changes/_event_notes.html`): the loop's own library here.
register = template.Library()
OLD_ENGINE = Engine(libraries={**engines["django"].engine.libraries, "old_history": __name__})
NOTES = OLD_ENGINE.from_string(
    '{% for note in notes %}<p class="event-meta">{% if note.strong %}<strong>'
    '{{ note.strong }}</strong> {% endif %}{% if note.url %}<a href="{{ note.url }}">'
    "{{ note.text }}</a>{% else %}{{ note.text }}{% endif %}</p>{% endfor %}\n"
)


@register.simple_tag
def event_notes(event: Any) -> str:
    return NOTES.render(Context({"notes": extensions.event_notes(event)}))


@register.filter
def by_authority(event: Any) -> bool:
    return extensions.authority_for(event.data or {}) is not None


LONG = "A plan that goes on " * 10
ODD = "<b>Bold</b> & \"quoted\" 'single'"


def _events(school) -> list[ChangeEvent]:
    change = Change(pk=7, school=school, number=7)
    olivia = User(pk=1, username="olivia", first_name="Siân", last_name="O'Neil <b>")
    ian = User(pk=2, username="ian-<i>")
    peter = User(pk=3, username="peter", first_name="Peter", last_name="Pan & Co")
    summer = datetime(2026, 7, 6, 16, 5, 9, 123456, tzinfo=UTC)
    winter = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)

    def event(kind: str, actor: User = olivia, **fields) -> ChangeEvent:
        fields.setdefault("created_at", summer)
        return ChangeEvent(change=change, kind=kind, actor=actor, **fields)

    return [
        event("create", comment=f"{ODD}\nSecond line\r\nThird", to_state="draft"),
        event(
            "submit", from_state="draft", to_state="awaiting_initial_approval", created_at=winter
        ),
        event(
            "approve",
            ian,
            on_behalf_of=peter,
            from_state="awaiting_initial_approval",
            to_state="planning",
            digest="c057dda0b1e2" + "f" * 52,
            comment="Fine.",
        ),
        event(
            "approve",
            ian,
            on_behalf_of=peter,
            data={"committee_meeting": 3},
            from_state="awaiting_final_approval",
            to_state="approved",
        ),
        event(
            "approve",
            peter,
            data={"override_reason": "<Sports day> & all", "via": "email_link"},
            from_state="awaiting_final_approval",
            to_state="approved",
        ),
        event(
            "record_outcome",
            ian,
            data={"outcome": "failed_backed_out"},
            from_state="approved",
            to_state="implemented",
        ),
        event(
            "record_outcome",
            ian,
            data={"outcome": "<odd>"},
            from_state="approved",
            to_state="approved",
        ),
        event(
            "edit",
            diffs=[
                {"field": "items", "before": [], "after": ["SVC-011 <Learning>", "PC & Mac"]},
                {
                    "field": "items",
                    "before": None,
                    "after": [f"SVC-{n:03d} {LONG}" for n in range(3)],
                },
                {"field": "details", "before": "", "after": LONG},
                {"field": "impact", "before": None, "after": ODD},
                {"field": "risk", "before": "cafe\u0301", "after": "é" * 121},
                {"field": "is_emergency", "before": False, "after": True},
                {"field": "number", "after": 3},
                {"before": "no field"},
            ],
        ),
        event("edit", diffs=[], comment="Items named again"),
        event("edit", diffs=[{"field": "title", "before": "A", "after": "B"}], data=None),
        event(
            "close",
            created_at=winter,
            from_state="implemented",
            to_state="closed",
            data={"outcome": ""},
        ),
        event("no_such_kind", from_state="planning", to_state="no_such_state"),
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en-gb", "cy"])
@pytest.mark.parametrize("zone", ["Europe/London", "UTC"])
def test_the_history_is_what_the_template_wrote(language, zone, school):
    events = _events(school)
    with translation.override(language), timezone.override(zone):
        old = OLD_ENGINE.from_string(OLD).render(Context({"events": events}))
        new = Template(NEW).render(Context({"events": events}))
    assert new == old
    assert "<b>" not in new and "<Sports" not in new
    assert "deputy" in new or language == "cy"
