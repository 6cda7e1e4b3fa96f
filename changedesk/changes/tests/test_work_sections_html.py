"""My work's sections and its list of the person's schools, written in Python
(`{% work_sections %}` and `{% school_roles %}` in `templatetags/cards.py`), give the HTML
the page's template loops they replaced gave, to the byte: in English and in Welsh, for a
section with cards and a group's row, one that shows them all, one with more than it shows
(listed exactly by its link, or not), one with none, and text that must be escaped."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from django.template import Context, Template
from django.utils import timezone, translation

from changedesk.changes.extensions import Group
from changedesk.changes.queries import SECTIONS, WAITING, Card, GroupEntry, WorkSection

# My work's loops as `changes/my_work.html` wrote them.
SECTIONS_LOOP = (
    "{% load cards i18n languages %}{% for section in sections %}\n"
    '<section class="work-section" aria-labelledby="section-{{ section.key }}">\n'
    '  <h2 id="section-{{ section.key }}">{{ section.title|translated }} <span class="count">'
    "{{ section.total }}</span></h2>\n"
    '  <p class="muted">{{ section.hint|translated }}</p>\n'
    "  {% if section.changes %}\n"
    '  <ul class="cards">\n'
    "    {% for entry in section.entries %}\n"
    '    {% if entry.is_group %}{% include "changes/_work_group.html" %}{% else %}'
    "{% work_card entry %}{% endif %}\n"
    "    {% endfor %}\n"
    "  </ul>\n"
    '  {% if section.more %}<p class="more">{% if section.exact %}<a href="{{ section.link }}">'
    "{% blocktranslate with total=section.total %}See all {{ total }} in the change log"
    '{% endblocktranslate %}</a> <span class="muted">({% blocktranslate with '
    "more=section.more %}{{ more }} more{% endblocktranslate %})</span>{% else %}"
    '<a href="{{ section.link }}">{% translate "Open the change log for these steps" %}</a> '
    '<span class="muted">({% blocktranslate with more=section.more '
    "note=section.note|translated %}{{ more }} more here; {{ note }}{% endblocktranslate %})"
    "</span>{% endif %}</p>{% endif %}\n"
    '  {% else %}<p class="empty">{% translate "None." %}</p>{% endif %}\n'
    "</section>\n"
    "{% endfor %}"
)
SCHOOLS_LOOP = (
    "{% load i18n %}{% for m in memberships %}{{ m.school.name }} ({% blocktranslate count "
    "counter=m.role_list|length trimmed %}{{ counter }} role{% plural %}{{ counter }} roles"
    "{% endblocktranslate %}){% if not forloop.last %}, {% endif %}{% endfor %}"
)


def _card(pk: int, **changed) -> Card:
    values = {
        "pk": pk,
        "url": f"/changes/{pk}/?a=1&b=2",
        "number": pk,
        "title": f'Swap the "main" switch <b>{pk}</b> & more',
        "state": "awaiting_final_approval",
        "is_emergency": pk % 3 == 0,
        "is_standard": pk % 5 == 0,
        "planned_start": datetime(2026, 7, 6, 16, pk % 60, tzinfo=UTC) if pk % 4 else None,
        "school_name": "St Mary's & St John's",
        "originator_name": "Siân O'Neil",
    }
    return Card(**{**values, **changed})


def _section(role: str, kind, cards: list, total: int, entries=None) -> WorkSection:
    return WorkSection(
        kind.key, kind.title, role, kind.hint, cards, total=total, exact=not kind.note,
        note=kind.note, link=f"/changes/?person=o'neil&state={kind.key}&x=<1>",
        entries=list(cards) if entries is None else entries,
    )  # fmt: skip


def _sections() -> list[WorkSection]:
    cards = [_card(pk) for pk in range(1, 8)]
    group = Group(
        "g1", "TW-0001", "Every <school>'s switch", "/trust/changes/1/?a=1&b=2", "12 schools",
        (("approved", 3), ("awaiting_final_approval", 9)), frozenset({2, 3}),
    )  # fmt: skip
    kinds = list(SECTIONS.items())
    return [
        # Cards and a group's row, more than it shows (a note: not listed exactly).
        _section(*kinds[0], cards[:4], 1234, [cards[0], GroupEntry(group, cards[1:3]), cards[3]]),
        # All shown.
        _section(*kinds[1], cards[4:6], 2),
        # More than it shows, listed exactly by its link.
        _section(*kinds[4], cards[:3], 5),
        # None.
        _section(*kinds[2], [], 0),
        _section(WAITING.key, WAITING, [cards[6]], 40),
    ]


@pytest.mark.parametrize("language", ["en-gb", "cy"])
def test_the_sections_are_what_the_template_wrote(language):
    sections = _sections()
    with translation.override(language), timezone.override("Europe/London"):
        old = Template(SECTIONS_LOOP).render(Context({"sections": sections}))
        new = Template("{% load cards %}{% work_sections sections %}").render(
            Context({"sections": sections})
        )
    assert new == old
    assert "<b>" not in new and "<school>" not in new and "<1>" not in new
    assert "TW-0001" in new and "1234" in new


@pytest.mark.parametrize("language", ["en-gb", "cy"])
def test_the_schools_are_what_the_template_wrote(language):
    def membership(name: str, roles: list[str]) -> SimpleNamespace:
        return SimpleNamespace(school=SimpleNamespace(name=name), role_list=roles)

    memberships = [
        membership("St Mary's & <St John's>", ["originator"]),
        membership("Ysgol y Bont", ["originator", "implementer", "final_approver"]),
        membership("Nowhere", []),
    ]
    with translation.override(language):
        old = Template(SCHOOLS_LOOP).render(Context({"memberships": memberships}))
        new = Template("{% load cards %}{% school_roles memberships %}").render(
            Context({"memberships": memberships})
        )
    assert new == old
    assert "<St John's>" not in new
