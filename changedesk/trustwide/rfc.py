"""How trust-wide changes plug into the RFC (through `changes.extensions`, registered in
`apps.py`):

- a school's RFC raised as part of one says so at the top of its page, linking to the
  parent for the trust's people;
- the RFC API shows `parent` on every RFC (the trust-wide change it is part of, or null),
  loaded a page at a time;
- `POST /api/v1/changes/` with `schools` raises one change for many schools (trustwide/api.py);
- the change log, its CSV and the RFC API list filter by `parent` (a trust-wide change's id);
- the forward schedule filters by `parent` too (`ParentFilter.describe` says which, above
  its filters), and its agenda and the change log mark each RFC "Part of TC-0001", linked
  for the trust's people;
- My work gathers a trust's person's cards of one trust-wide change into one row (its
  schools, their RFCs' states, a link to the parent); a school's own people, who do not see
  the parent, keep their school's RFC as a card.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.db.models import Count, F, OuterRef, Subquery
from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext, gettext_lazy, ngettext
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from changedesk.accounts import permissions
from changedesk.accounts.models import TrustMembership, User
from changedesk.changes.choices import State
from changedesk.changes.extensions import (
    Creator,
    Extension,
    Group,
    Grouping,
    Mark,
    Note,
    Panel,
    ReadField,
)
from changedesk.changes.models import Change
from changedesk.trustwide import services
from changedesk.trustwide.api import (
    RaisedForSchoolsSerializer,
    RaiseForSchoolsSerializer,
    raise_from_api,
)
from changedesk.trustwide.models import Child, format_reference


def _panel(request: HttpRequest, change: Change) -> dict[str, Any] | None:
    """The trust-wide change `change` is part of, how many of its schools' RFCs are still
    the trust's and whether the person sees it (`services.may_see`): one query, none for
    an RFC whose school (loaded with it) is in no trust."""
    school = change._state.fields_cache.get("school")
    if school is not None and school.trust_id is None:
        return None  # In no trust, so part of no trust-wide change still a trust's.
    # Whether the person sees it, read with it (its school roles are not needed).
    seen = services.may_see_in_sql(request.user, OuterRef("parent__trust"))
    schools = (
        Child.objects.filter(parent=OuterRef("parent"), school__trust=OuterRef("parent__trust"))
        .order_by()
        .values("parent")
        .annotate(n=Count("pk"))
        .values("n")
    )
    found = (
        Child.objects.filter(change=change)
        .select_related("parent__trust")
        .annotate(schools=Subquery(schools), seen=seen)
    )
    link = next(iter(found[:1]), None)  # At most one (one to one): no order needed.
    if link is None or change.school.trust_id != link.parent.trust_id:
        # Not part of one, or its school has left the trust: no longer the trust's change.
        return None
    return {"parent": link.parent, "schools": link.schools, "may_see": link.seen}


def _parents(changes: list[Change]) -> dict[int, Any]:
    links = Child.objects.filter(
        change__in=[c.pk for c in changes], school__trust=F("parent__trust")
    ).select_related("parent__trust")
    return {
        link.change_id: {
            "id": link.parent_id,
            "reference": link.parent.reference,
            "qualified_reference": link.parent.qualified_reference,
            "trust": link.parent.trust.slug,
        }
        for link in links
    }


@extend_schema_field(
    {
        "type": "object",
        "nullable": True,
        "readOnly": True,
        "description": "The trust-wide change this RFC is part of "
        "(/api/v1/changes/{id}/children/ lists its schools' RFCs), or null.",
        "properties": {
            "id": {"type": "integer"},
            "reference": {"type": "string", "example": "TC-0001"},
            "qualified_reference": {"type": "string", "example": "northway:TC-0001"},
            "trust": {"type": "string", "description": "The trust's slug."},
        },
    }
)
class ParentField(serializers.Field[Any, Any, Any, Any]):
    def to_representation(self, value: Any) -> Any:
        return value


def _groups(user: User, keys: set[Any]) -> dict[Any, Group]:
    """The trust-wide changes `keys` that `user` sees (a role in the trust, or a superuser),
    each with every school's RFC still the trust's: one query, however many schools."""
    found = Child.objects.filter(parent__in=sorted(keys), school__trust=F("parent__trust"))
    if not user.is_superuser:
        found = found.filter(
            parent__trust__in=TrustMembership.objects.filter(user=user.pk).values("trust")
        )
    rows = found.order_by().values_list(
        "parent_id", "parent__number", "parent__title", "change_id", "change__state"
    )
    parents: dict[int, tuple[int, str]] = {}
    members: dict[int, set[int]] = {}
    states: dict[int, dict[str, int]] = {}
    for parent, number, title, change, state in rows:
        parents[parent] = (number, title)
        members.setdefault(parent, set()).add(change)
        counts = states.setdefault(parent, {})
        counts[state] = counts.get(state, 0) + 1
    order = {state: place for place, state in enumerate(State.values)}
    groups: dict[Any, Group] = {}
    for parent, (number, title) in parents.items():
        schools = len(members[parent])
        groups[parent] = Group(
            key=parent,
            reference=format_reference(number),
            title=title,
            url=reverse("trustwide:detail", args=[parent]),
            size=ngettext("%(n)s school", "%(n)s schools", schools) % {"n": schools},
            states=tuple(sorted(states[parent].items(), key=lambda item: order[item[0]])),
            members=frozenset(members[parent]),
        )
    return groups


def _marks(user: User, changes: list[Change]) -> dict[int, Note]:
    """ "Part of TC-0001" on each of `changes` raised as part of a trust-wide change still
    its trust's, linked to the parent for those who hold a role in its trust: one query,
    none when the page's schools (loaded with it) are in no trust."""
    schools = [c._state.fields_cache.get("school") for c in changes]
    if all(school is not None and school.trust_id is None for school in schools):
        return {}
    rows = (
        Child.objects.filter(change__in=[c.pk for c in changes], school__trust=F("parent__trust"))
        .annotate(seen=services.may_see_in_sql(user, OuterRef("parent__trust")))
        .order_by()
        .values_list("change_id", "parent_id", "parent__number", "seen")
    )
    return {
        change: Note(
            gettext("Part of %(reference)s") % {"reference": format_reference(number)},
            url=reverse("trustwide:detail", args=[parent]) if seen else "",
        )
        for change, parent, number, seen in rows
    }


class ParentFilter(django_filters.NumberFilter):
    """`?parent=`: the RFCs of one trust-wide change (its id, a whole number)."""

    field_class = forms.IntegerField  # type: ignore[assignment]  # a whole number, not a decimal

    def describe(self, value: Any, user: User) -> str:
        """What the filter keeps, in words, for `user`: the trust-wide change's reference
        and title for its trust's people (those who see its page), its reference alone for
        a school's own people whose school's RFC is still part of it, and neither for
        anyone else."""
        child = (
            Child.objects.filter(parent=value, school__trust=F("parent__trust"))
            .select_related("parent__trust")
            .first()
        )
        if child is not None and services.may_see(user, child.parent.trust):
            return gettext("Only the RFCs of %(reference)s %(title)s") % {
                "reference": child.parent.reference,
                "title": child.parent.title,
            }
        mine = {s.pk for s in permissions.schools(user)}
        if (
            child is not None
            and Child.objects.filter(
                parent=value, school__trust=F("parent__trust"), school__in=mine
            ).exists()
        ):
            return gettext("Only the RFCs of %(reference)s") % {"reference": child.parent.reference}
        return gettext("Only the RFCs of a trust-wide change none of your schools is part of")


EXTENSION = Extension(
    app="trustwide",
    panels=(Panel("trustwide/_rfc_panel.html", _panel, place="top", order=10),),
    read_fields=(ReadField("parent", lambda: ParentField(allow_null=True), _parents),),
    creators=(
        Creator("schools", raise_from_api, RaiseForSchoolsSerializer, RaisedForSchoolsSerializer),
    ),
    filters={
        "parent": ParentFilter(
            field_name="parent_link__parent",
            label=gettext_lazy("Trust-wide change"),
            min_value=1,
            max_value=2**63 - 1,
        )
    },
    groupings=(Grouping("parent_link__parent", _groups),),
    marks=(Mark(_marks),),
)
