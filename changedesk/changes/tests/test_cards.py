"""My work's cards and the change log's states, written in Python (`templatetags/cards.py`),
give the HTML the templates they replaced gave, to the byte: in English and in Welsh, for
an emergency, a standard and an ordinary RFC, with and without a start, in summer and in
winter time, and with text that must be escaped."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.template import Context, Template
from django.utils import timezone, translation

from changedesk.changes.queries import Card

# `changes/_work_card.html` and `changes/_state.html` as they were, the state inlined.
STATE = (
    '<span class="state state-{{ change.state }}">{{ change.get_state_display|translated }}'
    '</span>{% if change.is_emergency %} <span class="badge emergency" title="{% translate '
    '"Emergency change" %}">{% translate "Emergency" %}</span>{% elif change.is_standard %} '
    '<span class="badge standard" title="{% translate "Standard change: raised from a template '
    'approved once" %}">{% translate "Standard" %}</span>{% endif %}'
)
CARD = (
    '{% load i18n languages %}<li class="card{% if change.is_emergency %} is-emergency'
    '{% endif %}">\n      <a class="card-title" href="{{ change.url }}"><span class="ref">'
    "{{ change.reference }}</span> {{ change.title }}</a>\n"
    f'      <div class="card-meta">{STATE} · {{{{ change.school_name }}}} · '
    "{% blocktranslate with name=change.originator_name %}raised by {{ name }}"
    "{% endblocktranslate %}{% if change.planned_start %} · {% blocktranslate with "
    'start=change.planned_start|date:"D j M Y, H:i" %}starts {{ start }}'
    "{% endblocktranslate %}{% endif %}</div>\n    </li>\n"
)


def _card(**changed) -> Card:
    values = {
        "pk": 7,
        "url": "/changes/7/?a=1&b=2",
        "number": 7,
        "title": 'Swap the "main" switch <script>alert(1)</script> & more',
        "state": "awaiting_final_approval",
        "is_emergency": False,
        "is_standard": False,
        "planned_start": datetime(2026, 7, 6, 16, 5, tzinfo=UTC),
        "school_name": "St Mary's & St John's",
        "originator_name": "Siân O'Neil",
    }
    return Card(**{**values, **changed})


CARDS = [
    _card(),
    _card(is_emergency=True, state="approved"),
    _card(is_standard=True, state="closed", planned_start=None),
    _card(state="draft", planned_start=datetime(2026, 12, 31, 23, 30, tzinfo=UTC)),
]


@pytest.mark.parametrize("language", ["en-gb", "cy"])
@pytest.mark.parametrize("card", CARDS, ids=["plain", "emergency", "standard", "winter"])
def test_a_card_is_what_the_template_wrote(language, card):
    with translation.override(language), timezone.override("Europe/London"):
        old = Template(CARD).render(Context({"change": card}))
        new = Template("{% load cards %}{% work_card change %}").render(Context({"change": card}))
        old_state = Template("{% load i18n languages %}" + STATE).render(Context({"change": card}))
        new_state = Template("{% load cards %}{% rfc_state change %}").render(
            Context({"change": card})
        )
    assert new == old
    assert new_state == old_state
    assert "<script>" not in new
    if language == "cy" and card.planned_start:
        assert "dechrau" in new  # "starts", in Welsh, with Welsh day and month names


# The change log's rows as `changes/_list_results.html` wrote them, state inlined.
ROWS = (
    '{% load i18n languages rfc %}{% translate "Reference" as h_reference %}'
    '{% translate "Name" as h_name %}{% translate "State" as h_state %}'
    '{% translate "School" as h_school %}{% translate "Originator" as h_originator %}'
    '{% translate "Planned start" as h_start %}{% for change in changes %}\n'
    '    <tr{% if change.is_emergency %} class="is-emergency"{% endif %}>\n'
    '      <td data-label="{{ h_reference }}"><a href="{{ change.get_absolute_url }}">'
    "{{ change.reference }}</a></td>\n"
    '      <td data-label="{{ h_name }}">{{ change.title }}{% for mark in change.marks %}'
    '<span class="mark">{% if mark.url %}<a href="{{ mark.url }}">{{ mark.text }}</a>'
    "{% else %}{{ mark.text }}{% endif %}</span>{% endfor %}</td>\n"
    f'      <td data-label="{{{{ h_state }}}}">{STATE}</td>\n'
    '      <td data-label="{{ h_school }}">{{ change.school.name }}</td>\n'
    '      <td data-label="{{ h_originator }}">{{ change.originator.display_name }}</td>\n'
    '      <td data-label="{{ h_start }}">{% if change.planned_start %}'
    '{{ change.planned_start|date:"j M Y H:i" }}{% else %}<span class="muted">'
    '{% translate "not planned" %}</span>{% endif %}</td>\n'
    '      {% for column in columns %}<td data-label="{{ column.header }}">'
    "{% column_value column change %}</td>{% endfor %}\n"
    "    </tr>\n  {% endfor %}"
)


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en-gb", "cy"])
def test_the_change_logs_rows_are_what_the_template_wrote(language, school, olivia):
    from changedesk.changes.extensions import Column, Note
    from changedesk.changes.services import create_change

    base = {"description": "d", "reason": "r"}
    changes = [
        create_change(school, olivia, {**base, "title": 'A <b>"bold"</b> & odd one'}),
        create_change(
            school,
            olivia,
            {
                **base,
                "title": "Summer",
                "is_emergency": True,
                "planned_start": datetime(2026, 7, 6, 16, 5, tzinfo=UTC),
                "planned_end": datetime(2026, 7, 6, 17, 5, tzinfo=UTC),
            },
        ),
    ]
    changes[0].marks = [Note("Part of <TC-0001>", url="/trust-changes/1/?a=1&b=2")]
    changes[1].marks = [Note("Part of TC-0002"), Note("In release R-1")]
    columns = [Column("pilot", "Pilot's <col>", lambda change: f"P&{change.number}")]
    context = {"changes": changes, "columns": columns}
    with translation.override(language), timezone.override("Europe/London"):
        old = Template(ROWS).render(Context(context))
        new = Template("{% load cards %}{% change_rows changes columns %}").render(Context(context))
    assert new == old
    assert "<b>" not in new and "P&amp;" in new
