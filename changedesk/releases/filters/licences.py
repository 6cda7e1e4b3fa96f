"""The licence log's filters, one filter set used by its page, its CSV and the API."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from changedesk.accounts import permissions as accounts
from changedesk.accounts.models import School
from changedesk.lib.filters import FilterSet, SchoolFilter
from changedesk.releases.choices import LicenceKind
from changedesk.releases.models import Licence
from changedesk.releases.services import licences as services

STATUS_CHOICES = [
    ("over_allocated", _("Over-allocated")),
    ("under_used", _("Under-used")),
    ("expiring", _("Expiring")),
    ("expired", _("Expired")),
]


class LicenceFilterSet(FilterSet):
    """`school` (a slug), `kind` (one or more), `status` (over_allocated, under_used,
    expiring or expired: see `services.licences`) and `q` (product, supplier or order
    reference). `schools`, the schools the rows are of, gives each school's day."""

    school = SchoolFilter()
    kind = django_filters.MultipleChoiceFilter(choices=LicenceKind.choices, label=_("Kind"))
    status = django_filters.ChoiceFilter(
        choices=STATUS_CHOICES, method="filter_status", label=_("Status"), empty_label=_("Any")
    )
    q = django_filters.CharFilter(method="filter_q", label=_("Search"), max_length=200)

    class Meta:
        model = Licence
        fields: list[str] = []

    def __init__(self, *args: Any, schools: list[School] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.schools = schools

    def filter_status(self, qs: Any, name: str, value: str) -> Any:
        if not value:
            return qs
        schools = self.schools
        user = getattr(self.request, "user", None)
        if schools is None and user is not None and not user.is_superuser:
            schools = accounts.schools(user)
        return services.filter_status(qs, value, schools)

    def filter_q(self, qs: Any, name: str, value: str) -> Any:
        for word in value.split()[:8]:
            qs = qs.filter(
                Q(product__icontains=word)
                | Q(supplier__icontains=word)
                | Q(order_reference__icontains=word)
            )
        return qs
