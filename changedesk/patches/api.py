"""Patch management in the REST API: the vendors a school watches and where they publish,
the patches, each one's cycle and history, the monthly patch run, the school's deadlines and
how it stands against them. Included by `changedesk/api_urls.py` from `urlpatterns` here.

    /api/v1/vendors/                        GET (members), POST (patch or school admins)
    /api/v1/vendors/{id}/                   GET, PATCH
    /api/v1/vendor-sources/                 GET, POST
    /api/v1/vendor-sources/{id}/            GET, PATCH, DELETE
    /api/v1/vendor-sources/{id}/check/      POST: fetch the feed on the worker's next pass
    /api/v1/patches/                        GET (PatchFilterSet), POST (entered by hand)
    /api/v1/patches/{id}/                   GET, PATCH (while still to be deployed)
    /api/v1/patches/{id}/actions/           POST: assess, defer, test, schedule, …
    /api/v1/patches/{id}/history/           GET: its events, oldest first
    /api/v1/patches/run/                    POST: a standard change deploying tested patches
    /api/v1/patches/compliance/             GET: the school against its deadlines
    /api/v1/patches/export/                 GET: the filtered patches as CSV
    /api/v1/patch-policies/{school}/        GET, PUT, PATCH: the school's deadlines

As in the core API, the viewsets only parse and authorise; every write goes through
`patches.services` or `patches.workflow.perform` (the one door of a patch's state), whose
`WorkflowError`s become 400/403/409 in `changedesk.lib.api.exception_handler`. Anything of a
school the caller is not a member of is a 404.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any, cast

from django.db.models import Prefetch, QuerySet, prefetch_related_objects
from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import BaseParser
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from changedesk.accounts.api import CallerMixin, SchoolField
from changedesk.accounts.models import School, User, loaded_schools, seen_school_ids
from changedesk.changes.api import ItemIdsField, LinkedItemIdsField, items_of
from changedesk.changes.services import PLANNING_HORIZON
from changedesk.lib.api import (
    BAD_INPUT,
    FORBIDDEN,
    AwareDateTimeField,
    QuickRepresentation,
    RefuseUnknownFields,
    StrictCharField,
    UsernameField,
)
from changedesk.lib.filters import FilterSet, IdFilter, SchoolFilter
from changedesk.lib.loading import attach
from changedesk.patches import compliance, export, services, workflow
from changedesk.patches.choices import (
    OPEN_STATES,
    CheckResult,
    PatchAction,
    PatchState,
    Severity,
)
from changedesk.patches.filters import PatchFilterSet, VendorFilterSet
from changedesk.patches.models import (
    CVE,
    Patch,
    PatchEvent,
    PatchPolicy,
    PatchQuerySet,
    Source,
    SourceQuerySet,
    Vendor,
    VendorQuerySet,
    split_cves,
    today_in,
)

# The biggest id a client may name (a bigint's): beyond it nothing is found.
MAX_ID = 2**63 - 1
# The most items one patch names, and CVE ids it lists, in one request.
MAX_ITEMS = 500
MAX_CVES = 100
# What a person may do to a patch (deploy is the RFC's: a person is refused it, 403).
ACTIONS = tuple(dict.fromkeys(row.action for row in workflow.TRANSITIONS))
# What each action carries besides its comment (the workflow's readers check the values).
CARRIES: dict[str, tuple[str, ...]] = {
    PatchAction.ASSESS: ("severity", "items"),
    PatchAction.DEFER: ("reason", "defer_until"),
    PatchAction.NOT_APPLICABLE: ("reason",),
    PatchAction.TEST: ("results",),
    PatchAction.VERIFY: ("results",),
    PatchAction.SCHEDULE: ("change",),
    PatchAction.CLOSE: ("version",),
}
PAYLOAD = tuple(dict.fromkeys(name for names in CARRIES.values() for name in names))

_DETAIL = inline_serializer("PatchErrorDetail", {"detail": serializers.CharField()})
PATCH_NOT_FOUND = OpenApiResponse(_DETAIL, description="No such patch among your schools.")
VENDOR_NOT_FOUND = OpenApiResponse(_DETAIL, description="No such vendor among your schools.")
SOURCE_NOT_FOUND = OpenApiResponse(_DETAIL, description="No such source among your schools.")
SCHOOL_NOT_FOUND = OpenApiResponse(_DETAIL, description="No such school among yours.")
CONFLICT = OpenApiResponse(_DETAIL, description="Someone else changed it at the same moment.")


def _errors(not_found: OpenApiResponse) -> dict[int, OpenApiResponse]:
    return {400: BAD_INPUT, 403: FORBIDDEN, 404: not_found, 409: CONFLICT}


def _absolute(context: dict[str, Any], path: str) -> str:
    request: Request | None = context.get("request")
    return request.build_absolute_uri(path) if request is not None else path


# --- Fields. ---


@extend_schema_field(
    {
        "type": "array",
        "items": {"type": "integer", "minimum": 1},
        "maxItems": MAX_ITEMS,
        "description": "Ids of configuration items of the school (see /api/v1/items/).",
        "example": [3, 7],
    }
)
class PatchItemIdsField(LinkedItemIdsField):
    """The configuration items a patch applies to, by id; resolved against its school in
    `validate`. Shown from what `load_patch_items` loaded with the rows, else asked for."""

    most = MAX_ITEMS
    default_error_messages = {
        "invalid": "Give a list of item ids, e.g. [3, 7].",
        "too_many": f"At most {MAX_ITEMS} items.",
    }


@extend_schema_field(
    {
        "oneOf": [
            {
                "type": "array",
                "items": {"type": "string", "pattern": r"^[Cc][Vv][Ee]-\d{4}-\d{4,7}$"},
                "maxItems": MAX_CVES,
            },
            {"type": "string", "maxLength": 1000},
        ],
        "description": "The CVE ids it fixes: a list (as shown), or given as text separated by "
        "commas, e.g. “CVE-2026-21001, CVE-2026-21002”.",
        "example": ["CVE-2026-21001"],
    }
)
class CvesField(serializers.Field[Any, Any, list[str], Any]):
    """CVE ids: shown as a list; given as a list or as text separated by commas."""

    default_error_messages = {
        "invalid": "Give a list of CVE ids, or text separated by commas.",
        "not_cve": "Not CVE ids (CVE-2026-12345): {ids}.",
        "too_many": f"At most {MAX_CVES} CVE ids.",
        "too_long": "At most 1,000 characters in all.",
    }

    def get_attribute(self, instance: Any) -> Any:
        return instance

    def to_representation(self, patch: Patch) -> list[str]:
        return patch.cve_list

    def to_internal_value(self, data: Any) -> str:
        if isinstance(data, str):
            if len(data) > 1000:
                self.fail("too_long")
            parts = split_cves(data, strict=False)
        elif isinstance(data, list) and all(isinstance(p, str) for p in data):
            parts = [p.strip() for p in data if p.strip()]
        else:
            self.fail("invalid")
        if len(parts) > MAX_CVES:
            self.fail("too_many")
        wrong = [p for p in parts if not CVE.fullmatch(p)]
        if wrong:
            self.fail("not_cve", ids=", ".join(repr(p)[1:-1][:40] for p in wrong[:5]))
        joined = ", ".join(dict.fromkeys(p.upper() for p in parts))
        if len(joined) > 1000:
            self.fail("too_long")
        return joined


def _vendor_of(school: School, vendor_id: int) -> Vendor:
    found = Vendor.objects.filter(pk=vendor_id, school=school).first()
    if found is None:
        raise serializers.ValidationError(
            {
                "vendor": [
                    gettext("No vendor %(id)s at %(school)s.")
                    % {"id": vendor_id, "school": school.name}
                ]
            }
        )
    return found


def _visible_vendor(actor: Any, vendor_id: int) -> Vendor:
    found = Vendor.objects.visible_to(actor).select_related("school").filter(pk=vendor_id).first()
    if found is None:
        raise serializers.ValidationError(
            {"vendor": [gettext("No vendor %(id)s among your schools.") % {"id": vendor_id}]}
        )
    return found


# --- Vendors and their sources. ---

SOURCE_STATUS_FIELDS = (
    "id",
    "kind",
    "location",
    "product",
    "is_active",
    "state",
    "error",
    "failures",
    "checked_at",
    "succeeded_at",
    "failing_since",
    "next_check_at",
    "entries_found",
)
SOURCE_READ_ONLY = (
    "id",
    "state",
    "error",
    "failures",
    "checked_at",
    "succeeded_at",
    "failing_since",
    "next_check_at",
    "entries_found",
    "created_at",
)


class VendorSourceSerializer(
    QuickRepresentation, RefuseUnknownFields, serializers.ModelSerializer[Source]
):
    """Where a vendor publishes: a feed (fetched by the worker), a web page or a mailing
    list, and how the last fetch of a feed went. On create `vendor` is required (its school
    is the source's)."""

    read_only_messages = {
        "school": "A source is of its vendor's school.",
        "state": "This field is read-only: it is what the last fetch found.",
    }

    school = serializers.CharField(source="school.slug", read_only=True)
    vendor = serializers.IntegerField(
        source="vendor_id", min_value=1, max_value=MAX_ID, help_text="The vendor's id."
    )
    vendor_name = serializers.CharField(source="vendor.name", read_only=True)

    class Meta:
        model = Source
        fields = ("id", "school", "vendor", "vendor_name", *SOURCE_STATUS_FIELDS[1:], "created_at")
        read_only_fields = SOURCE_READ_ONLY
        extra_kwargs = {
            "state": {"help_text": "How the last fetch of a feed went: new, ok or failing."},
            "next_check_at": {"help_text": "When the worker fetches the feed next."},
        }

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """Turn the vendor's id into a vendor among the caller's schools."""
        if "vendor_id" in attrs:
            attrs["vendor"] = _visible_vendor(self.context.get("actor"), attrs.pop("vendor_id"))
        return attrs


class VendorSerializer(
    QuickRepresentation, RefuseUnknownFields, serializers.ModelSerializer[Vendor]
):
    """A vendor the school watches, the products it runs of theirs, and where they publish
    (`sources`, added at /api/v1/vendor-sources/). On create `school` is required."""

    read_only_messages = {
        "school": "A vendor stays in the school it was added to.",
        "sources": "This field is read-only: add and change them at /api/v1/vendor-sources/.",
    }

    school = SchoolField(help_text="The school's slug; set on create only.")
    products = serializers.ListField(
        child=StrictCharField(max_length=200),
        max_length=200,
        required=False,
        help_text="The vendor's products the school runs.",
    )
    sources = VendorSourceSerializer(many=True, read_only=True)

    class Meta:
        model = Vendor
        fields: tuple[str, ...] = (
            "id",
            "school",
            "name",
            "products",
            "website",
            "notes",
            "sources",
            "created_at",
            "updated_at",
        )
        read_only_fields = ("id", "created_at", "updated_at")
        # Its name is checked by the service (one of a name in a school, in any case).
        validators: list[Any] = []


class VendorEditSerializer(VendorSerializer):
    school = SchoolField(read_only=True)


# --- Patches. ---

PATCH_READ_ONLY = (
    "id",
    "vendor_severity",
    "severity_confirmed",
    "state",
    "due_on",
    "reason",
    "defer_until",
    "deployed_on",
    "created_at",
    "updated_at",
)
PATCH_READ_ONLY_MESSAGES = {
    "state": "This field is read-only: use the actions endpoint to move the patch on.",
    "school": "A patch stays in the school it was added to.",
    "due_on": "This field is read-only: the school's deadlines set it (/api/v1/patch-policies/).",
}
# Shown as text, not as a second enum of the actions (its values are the actions
# endpoint's `action`): one choice set named twice is a schema warning.
ACTIONS_FIELD = serializers.ListField(
    child=serializers.CharField(),
    help_text="What you may do to it now: the actions endpoint's `action` names, of "
    + ", ".join(ACTIONS)
    + ".",
)


class PatchSerializer(QuickRepresentation, RefuseUnknownFields, serializers.ModelSerializer[Patch]):
    """A vendor's patch and where it is in its cycle. On create `school` is required (its
    vendor and items are of that school); afterwards it stays there."""

    read_only_messages = PATCH_READ_ONLY_MESSAGES

    url = serializers.SerializerMethodField(help_text="The patch's page.")
    school = SchoolField(help_text="The school's slug; set on create only.")
    vendor = serializers.IntegerField(
        source="vendor_id", min_value=1, max_value=MAX_ID, help_text="The vendor's id."
    )
    vendor_name = serializers.CharField(source="vendor.name", read_only=True)
    cves = CvesField(required=False)
    items = PatchItemIdsField(required=False, help_text="The configuration items it applies to.")
    overdue = serializers.SerializerMethodField(
        help_text="Still to be deployed and past its due day, where the school is."
    )
    days_left = serializers.SerializerMethodField(
        help_text="Days to its due day (negative: overdue), while it is still to be deployed."
    )
    change = serializers.IntegerField(
        source="change_id",
        read_only=True,
        allow_null=True,
        help_text="The RFC (its id) deploying it.",
    )
    change_reference = serializers.SerializerMethodField(help_text="That RFC's reference.")
    on_time = serializers.SerializerMethodField(
        help_text="Deployed on or before its due day (null: not deployed)."
    )
    actions = serializers.SerializerMethodField()

    class Meta:
        model = Patch
        fields: tuple[str, ...] = (
            "id",
            "url",
            "school",
            "vendor",
            "vendor_name",
            "product",
            "title",
            "reference",
            "cves",
            "release_date",
            "severity",
            "vendor_severity",
            "severity_confirmed",
            "link",
            "description",
            "items",
            "state",
            "due_on",
            "overdue",
            "days_left",
            "reason",
            "defer_until",
            "change",
            "change_reference",
            "deployed_on",
            "on_time",
            "created_at",
            "updated_at",
            "actions",
        )
        read_only_fields = PATCH_READ_ONLY
        validators: list[Any] = []
        extra_kwargs = {
            "release_date": {"help_text": "The day the vendor released it (its deadline runs "
                             "from here): within the last five years, at most a week ahead."},
            "severity": {"help_text": "As the vendor rates it (confirmed by the assessment)."},
        }  # fmt: skip

    def _today(self, patch: Patch) -> date:
        # The school's day, once per school a response.
        context = cast(dict[str, Any], self.context)
        days: dict[int, date] = context.setdefault("today", {})
        if patch.school_id not in days:
            days[patch.school_id] = today_in(patch.school)
        return days[patch.school_id]

    def get_url(self, patch: Patch) -> str:
        return _absolute(cast(dict[str, Any], self.context), patch.get_absolute_url())

    def get_overdue(self, patch: Patch) -> bool:
        return patch.is_overdue(self._today(patch))

    def get_days_left(self, patch: Patch) -> int | None:
        return patch.days_left(self._today(patch)) if patch.state in OPEN_STATES else None

    def get_change_reference(self, patch: Patch) -> str | None:
        return patch.change.reference if patch.change is not None else None

    def get_on_time(self, patch: Patch) -> bool | None:
        return patch.on_time()

    @extend_schema_field(ACTIONS_FIELD)
    def get_actions(self, patch: Patch) -> list[str]:
        """What you may do to it now (the actions endpoint's `action`)."""
        actor = self.context.get("actor")
        if actor is None:
            return []
        return [row.action for row in workflow.available_actions(actor, patch)]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """Turn the vendor's and the items' ids into the school's vendor and items."""
        school: School = self.instance.school if self.instance is not None else attrs["school"]
        if "vendor_id" in attrs:
            attrs["vendor"] = _vendor_of(school, attrs.pop("vendor_id"))
        if "items" in attrs:
            attrs["items"] = items_of(school, attrs["items"])
        return attrs


class PatchEditSerializer(PatchSerializer):
    """What a PATCH accepts: what the patch says (vendor, product, title, reference, CVE
    ids, release date, severity, link, description) and its items."""

    school = SchoolField(read_only=True)


class ResultSerializer(RefuseUnknownFields, serializers.Serializer[Any]):
    """A result on one machine."""

    item = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, help_text="The configuration item's id."
    )
    result = serializers.ChoiceField(choices=CheckResult.choices)
    notes = serializers.CharField(required=False, allow_blank=True, max_length=2000)


@extend_schema_field(
    {
        "type": "array",
        "items": {"type": "integer", "minimum": 1},
        "maxItems": workflow.MOST_RESULTS,
        "description": "For assess: the ids of the configuration items it applies to (else "
        "as entered).",
        "example": [3, 7],
    }
)
class ActionItemIdsField(ItemIdsField):
    most = workflow.MOST_RESULTS
    default_error_messages = {
        "invalid": "Give a list of item ids, e.g. [3, 7].",
        "too_many": f"At most {workflow.MOST_RESULTS} items.",
    }


class PatchActionSerializer(RefuseUnknownFields, serializers.Serializer[Any]):
    """An action on a patch and what it carries; the workflow checks the rest. Each field
    besides `action` and `comment` is for the actions named in its description, and refused
    with any other."""

    action = serializers.ChoiceField(
        choices=ACTIONS,
        error_messages={"invalid_choice": f"Unknown action “{{input}}”. Use one of: "
                        f"{', '.join(ACTIONS)}."},
    )  # fmt: skip
    comment = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=5000,
        help_text="Kept in its history.",
    )
    severity = serializers.ChoiceField(
        choices=Severity.choices,
        required=False,
        help_text="For assess: the severity confirmed (default: the vendor's).",
    )
    items = ActionItemIdsField(required=False)
    reason = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=5000,
        help_text="For defer and not_applicable: why.",
    )
    defer_until = serializers.DateField(
        required=False, help_text="For defer: the day to look at it again (within a year)."
    )
    results = serializers.ListField(
        child=ResultSerializer(),
        required=False,
        max_length=workflow.MOST_RESULTS,
        help_text="For test and verify: the machines it was tested or verified on, each "
        "with its result.",
    )
    change = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_ID,
        help_text="For schedule: the id of the RFC deploying it (of its school, still to be "
        "carried out).",
    )
    version = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=200,
        help_text="For close: what the items now run (default: its reference).",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        carried = CARRIES.get(attrs["action"], ())
        stray = {
            name: [f"Not carried by “{attrs['action']}”."]
            for name in PAYLOAD
            if name in attrs and name not in carried
        }
        if stray:
            raise serializers.ValidationError(stray)
        return attrs

    def payload(self) -> dict[str, Any]:
        """What the action carries, for `workflow.perform`'s `data`."""
        data = self.validated_data
        found = {name: data[name] for name in CARRIES.get(data["action"], ()) if name in data}
        if "results" in found:
            found["results"] = [dict(row) for row in found["results"]]
        return found


# The states as text: the patch's `state` names the enum (one choice set named thrice is a
# schema warning).
STATE_TEXT = "One of " + ", ".join(PatchState.values) + "."


class PatchEventSerializer(QuickRepresentation, serializers.ModelSerializer[PatchEvent]):
    """One step in a patch's cycle."""

    actor = UsernameField(
        read_only=True,
        allow_null=True,
        help_text="Who took it (null: the worker, or the RFC's outcome).",
    )
    change = serializers.IntegerField(
        source="change_id", read_only=True, allow_null=True, help_text="The RFC (its id)."
    )
    from_state = serializers.SerializerMethodField()
    to_state = serializers.CharField(read_only=True, help_text=f"The state after. {STATE_TEXT}")

    class Meta:
        model = PatchEvent
        fields = ("kind", "from_state", "to_state", "actor", "change", "comment", "data",
                  "created_at")  # fmt: skip
        read_only_fields = fields
        extra_kwargs = {"data": {"help_text": "What the action carried, e.g. the results."}}

    @extend_schema_field(
        serializers.CharField(
            allow_null=True, help_text=f"The state before (null: its first event). {STATE_TEXT}"
        )
    )
    def get_from_state(self, event: PatchEvent) -> str | None:
        return event.from_state or None


class RunSerializer(RefuseUnknownFields, serializers.Serializer[Any]):
    """The patch run: a standard change from a template, deploying tested patches."""

    template = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, help_text="The standard change template's id."
    )
    patches = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        min_length=1,
        max_length=MAX_ITEMS,
        help_text="The ids of the tested patches it deploys.",
    )
    planned_start = AwareDateTimeField(help_text="When it starts, with its UTC offset.")
    planned_end = AwareDateTimeField(
        required=False,
        allow_null=True,
        help_text="When it ends (default: the start and the template's usual duration).",
    )

    def to_internal_value(self, data: Any) -> Any:
        # The ids in a list are whole numbers, not text that reads as one.
        given = data.get("patches") if isinstance(data, dict) else None
        if isinstance(given, list) and not all(
            isinstance(v, int) and not isinstance(v, bool) for v in given
        ):
            raise serializers.ValidationError({"patches": [gettext("Give a list of patch ids.")]})
        return super().to_internal_value(data)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        now = timezone.now()
        errors = {
            name: ["Choose a time within 20 years of today."]
            for name in ("planned_start", "planned_end")
            if attrs.get(name) is not None and abs(attrs[name] - now) > PLANNING_HORIZON
        }
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


RUN_RESPONSE = inline_serializer(
    "PatchRun",
    {
        "change": serializers.IntegerField(help_text="The RFC's id."),
        "reference": serializers.CharField(help_text="The RFC's reference, e.g. RFC-0012."),
        "url": serializers.CharField(help_text="The RFC's page."),
        "patches": serializers.ListField(
            child=serializers.IntegerField(), help_text="The patches it deploys."
        ),
    },
)


class ComplianceQuerySerializer(serializers.Serializer[Any]):
    school = serializers.CharField(
        max_length=100, trim_whitespace=False, help_text="The school's slug."
    )
    start = serializers.DateField(
        required=False,
        help_text=f"The first release day counted (default: {compliance.DEFAULT_DAYS} days "
        "before the end).",
    )
    end = serializers.DateField(
        required=False, help_text="The last release day counted (default: today, at the school)."
    )


_FIGURES: dict[str, serializers.Field[Any, Any, Any, Any]] = {
    "applicable": serializers.IntegerField(help_text="Released, less those not applicable."),
    "on_time": serializers.IntegerField(help_text="Deployed on or before the due day."),
    "late": serializers.IntegerField(help_text="Deployed after the due day."),
    "overdue": serializers.IntegerField(help_text="Still to be deployed, past the due day."),
    "in_time": serializers.IntegerField(help_text="Still to be deployed, not yet due."),
    "deferred": serializers.IntegerField(),
    "not_applicable": serializers.IntegerField(),
    "deployed": serializers.IntegerField(),
    "percent_on_time": serializers.IntegerField(
        allow_null=True,
        help_text="Of those deployed or due by now, the share deployed on time (null: none).",
    ),
}
TALLY = inline_serializer("PatchTally", _FIGURES)
COMPLIANCE_RESPONSE = inline_serializer(
    "PatchCompliance",
    {
        "school": serializers.CharField(),
        "start": serializers.DateField(),
        "end": serializers.DateField(),
        "today": serializers.DateField(help_text="Today, at the school."),
        "deadlines": serializers.DictField(
            child=serializers.IntegerField(), help_text="Days allowed, by severity."
        ),
        "total": TALLY,
        "by_severity": serializers.DictField(child=TALLY, help_text="By severity."),
        "by_item": inline_serializer(
            "PatchTallyOfItem",
            {"item": serializers.IntegerField(), "name": serializers.CharField(), **_FIGURES},
            many=True,
        ),
        "deferred": inline_serializer(
            "PatchDeferral",
            {
                "patch": serializers.IntegerField(),
                "title": serializers.CharField(),
                "reason": serializers.CharField(),
                "defer_until": serializers.DateField(allow_null=True),
            },
            many=True,
        ),
    },
)


class PatchPolicySerializer(RefuseUnknownFields, serializers.ModelSerializer[PatchPolicy]):
    """A school's deadlines: days from a patch's release to its deployment, by severity."""

    read_only_messages = {"school": "The school is the one in the path."}

    school = serializers.CharField(source="school.slug", read_only=True)
    updated_at = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text="Null: the defaults, never changed."
    )

    class Meta:
        model = PatchPolicy
        fields = (
            "school",
            "critical_days",
            "high_days",
            "medium_days",
            "low_days",
            "nudge_overdue",
            "updated_at",
        )
        # Every one is required in a PUT (a PATCH may give some).
        extra_kwargs = {
            **{
                f"{s}_days": {
                    "required": True,
                    "min_value": 1,
                    "max_value": 365,
                    "help_text": f"Days from release to deployment of a {s} patch (1 to 365).",
                }
                for s in Severity.values
            },
            "nudge_overdue": {"required": True,
                              "help_text": "Tell the patch administrators each day a patch is "
                              "overdue."},
        }  # fmt: skip


# --- The lists' filters. ---


class SourceFilterSet(FilterSet):
    """`school` (a slug) and `vendor` (an id)."""

    school = SchoolFilter()
    vendor = IdFilter(field_name="vendor_id", label="Vendor (id)")

    class Meta:
        model = Source
        fields: list[str] = []


# --- Loading what a page of rows shows. ---


def load_patches(patches: list[Patch], actor: User | None) -> None:
    """What the API shows of `patches`, a query per table: their school (the caller's,
    known), vendor and RFC, and the ids of their items."""
    attach(patches, "school", "vendor", "change", known=loaded_schools(actor))
    found: dict[int, list[int]] = {patch.pk: [] for patch in patches}
    links = Patch.items.through.objects.filter(patch_id__in=list(found))
    for patch_id, item_id in links.order_by("patch_id", "configurationitem_id").values_list(
        "patch_id", "configurationitem_id"
    ):
        found[patch_id].append(item_id)
    for patch in patches:
        patch._item_ids = found[patch.pk]  # type: ignore[attr-defined]


def load_vendors(vendors: list[Vendor], actor: User | None) -> None:
    """Their school (the caller's, known) and their sources, with the sources' school."""
    schools = loaded_schools(actor)
    attach(vendors, "school", known=schools)
    prefetch_related_objects(vendors, Prefetch("sources", Source.objects.order_by("id")))
    attach([s for v in vendors for s in v.sources.all()], "school", known=schools)


class IgnoreAccept(BaseContentNegotiation):
    """For a download: whatever the client accepts, its errors are JSON (the first
    renderer) and its body is the file."""

    def select_parser(self, request: Request, parsers: Iterable[BaseParser]) -> BaseParser | None:
        return next(iter(parsers), None)

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        first = next(iter(renderers))
        return first, str(first.media_type)


ID = r"\d{1,18}"

# The patch list's filters as they read their values, where the filter set's fields alone
# do not say (a method's yes/no, a month): the list's and the export's parameters.
MONTH_PATTERN = r"^(?:2\d{3}-(?:0[1-9]|1[0-2]))?$"
PATCH_FILTER_PARAMETERS = [
    OpenApiParameter(
        "overdue",
        OpenApiTypes.BOOL,
        description="Still to be deployed and past its due day (true), or not (false).",
        allow_blank=True,
    ),
    OpenApiParameter(
        "q",
        {"type": "string", "maxLength": 200, "pattern": r"^[^\u0000]*$"},
        description="Words in the title, reference, CVE ids or product.",
    ),
    OpenApiParameter(
        "month",
        {"type": "string", "pattern": MONTH_PATTERN},
        description="Released in this month, YYYY-MM (from 2000 to 2999).",
        allow_blank=True,
    ),
]


# --- Vendors. ---


class _LoadedRows(CallerMixin):
    """What the vendor and patch viewsets share: their rows paged school by school, loaded
    with what they show (`load`), and one row fetched and answered the same way."""

    missing = gettext_noop("No such row among your schools.")
    lookup_url_kwarg = "id"
    lookup_value_regex = ID
    http_method_names = ["get", "post", "patch", "head", "options"]

    def load(self, rows: list[Any]) -> None:
        raise NotImplementedError

    def paged_schools(self) -> list[int] | None:
        return seen_school_ids(self._caller())

    def paged_rows(self, rows: list[Any]) -> None:
        self.load(rows)

    def get_object(self) -> Any:
        found = list(self.get_queryset().filter(pk=int(self.kwargs["id"]))[:1])
        if not found:
            raise NotFound(gettext(self.missing))
        self.load(found)
        return found[0]

    def _render(self, pk: int, status_code: int = status.HTTP_200_OK) -> Response:
        row = self.get_queryset().get(pk=pk)
        self.load([row])
        return Response(self.get_serializer(row).data, status=status_code)


@extend_schema_view(
    list=extend_schema(summary="Vendors your schools watch, with where they publish"),
    create=extend_schema(
        summary="Add a vendor (a patch administrator or school administrator)",
        request=VendorSerializer,
        responses={201: VendorSerializer, 400: BAD_INPUT, 403: FORBIDDEN},
    ),
    retrieve=extend_schema(
        summary="One vendor", responses={200: VendorSerializer, 404: VENDOR_NOT_FOUND}
    ),
    partial_update=extend_schema(
        summary="Edit a vendor (a patch administrator or school administrator)",
        request=VendorEditSerializer,
        responses={200: VendorSerializer, **_errors(VENDOR_NOT_FOUND)},
    ),
)
class VendorViewSet(
    _LoadedRows,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet[Vendor],
):
    serializer_class = VendorSerializer
    filterset_class = VendorFilterSet

    def get_queryset(self) -> VendorQuerySet:
        # By name within a school: the index of its unique name serves it.
        return Vendor.objects.visible_to(self._actor() or self.request.user).order_by("name", "id")

    missing = gettext_noop("No such vendor among your schools.")

    def load(self, rows: list[Vendor]) -> None:
        load_vendors(rows, self._actor())

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        school = cast(School, data.pop("school"))
        vendor = services.save_vendor(school, self._caller(), data)
        return self._render(vendor.pk, status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        vendor = self.get_object()
        serializer = VendorEditSerializer(
            vendor, data=request.data, partial=True, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        services.save_vendor(
            vendor.school, self._caller(), dict(serializer.validated_data), vendor_id=vendor.pk
        )
        return self._render(vendor.pk)


# --- Where vendors publish. ---


@extend_schema_view(
    list=extend_schema(summary="Where your schools' vendors publish: feeds, pages, lists"),
    create=extend_schema(
        summary="Add where a vendor publishes (a patch administrator or school administrator)",
        request=VendorSourceSerializer,
        responses={201: VendorSourceSerializer, 400: BAD_INPUT, 403: FORBIDDEN},
    ),
    retrieve=extend_schema(
        summary="One source", responses={200: VendorSourceSerializer, 404: SOURCE_NOT_FOUND}
    ),
    partial_update=extend_schema(
        summary="Edit a source (a new address is fetched on the worker's next pass)",
        request=VendorSourceSerializer,
        responses={200: VendorSourceSerializer, **_errors(SOURCE_NOT_FOUND)},
    ),
    destroy=extend_schema(
        summary="Stop watching a source (the patches it brought stay)",
        responses={204: None, 403: FORBIDDEN, 404: SOURCE_NOT_FOUND},
    ),
)
class SourceViewSet(
    CallerMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet[Source],
):
    serializer_class = VendorSourceSerializer
    filterset_class = SourceFilterSet
    lookup_url_kwarg = "id"
    lookup_value_regex = ID
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> SourceQuerySet:
        return Source.objects.visible_to(self._actor() or self.request.user).order_by(
            "vendor_id", "id"
        )

    def paged_schools(self) -> list[int] | None:
        return seen_school_ids(self._caller())

    def paged_rows(self, rows: list[Source]) -> None:
        attach(rows, "school", "vendor", known=loaded_schools(self._actor()))

    def get_object(self) -> Source:
        found = list(self.get_queryset().filter(pk=int(self.kwargs["id"]))[:1])
        if not found:
            raise NotFound(gettext("No such source among your schools."))
        self.paged_rows(found)
        return found[0]

    def _render(self, source_id: int, status_code: int = status.HTTP_200_OK) -> Response:
        source = self.get_queryset().get(pk=source_id)
        self.paged_rows([source])
        return Response(self.get_serializer(source).data, status=status_code)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        vendor = cast(Vendor, data["vendor"])
        source = services.save_source(vendor.school, self._caller(), data)
        return self._render(source.pk, status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        source = self.get_object()
        serializer = self.get_serializer(source, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        services.save_source(
            source.school, self._caller(), dict(serializer.validated_data), source_id=source.pk
        )
        return self._render(source.pk)

    def perform_destroy(self, instance: Source) -> None:
        services.delete_source(instance.pk, self._caller())

    @extend_schema(
        summary="Fetch a feed on the worker's next pass (and watch it again if it was off)",
        request=None,
        responses={200: VendorSourceSerializer, **_errors(SOURCE_NOT_FOUND)},
    )
    @action(detail=True, methods=["post"])
    def check(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        source = self.get_object()
        services.check_now(source.pk, self._caller())
        return self._render(source.pk)


# --- Patches. ---


@extend_schema_view(
    list=extend_schema(
        summary="Patches of your schools, newest release first, filtered",
        # The filters' parameters are read off the filter set (lib/schema.py).
        parameters=PATCH_FILTER_PARAMETERS,
    ),
    create=extend_schema(
        summary="Enter a patch by hand (a patch administrator or school administrator)",
        request=PatchSerializer,
        responses={201: PatchSerializer, 400: BAD_INPUT, 403: FORBIDDEN},
    ),
    retrieve=extend_schema(
        summary="One patch", responses={200: PatchSerializer, 404: PATCH_NOT_FOUND}
    ),
    partial_update=extend_schema(
        summary="Correct what a patch says, while it is still to be deployed (a new release "
        "date or severity moves its due day)",
        request=PatchEditSerializer,
        responses={200: PatchSerializer, **_errors(PATCH_NOT_FOUND)},
    ),
)
class PatchViewSet(
    _LoadedRows,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet[Patch],
):
    serializer_class = PatchSerializer
    filterset_class = PatchFilterSet

    def get_queryset(self) -> PatchQuerySet:
        # The index (school, -release_date, -id) serves it, school by school.
        actor = self._actor() or self.request.user
        return Patch.objects.visible_to(actor).order_by("-release_date", "-id")

    missing = gettext_noop("No such patch among your schools.")

    def load(self, rows: list[Patch]) -> None:
        load_patches(rows, self._actor())

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        school = cast(School, data.pop("school"))
        items = data.pop("items", [])
        patch = services.create_patch(school, self._caller(), data, items=items)
        return self._render(patch.pk, status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        patch = self.get_object()
        serializer = PatchEditSerializer(
            patch, data=request.data, partial=True, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        items = data.pop("items", None)
        services.update_patch(patch.pk, self._caller(), data, items=items)
        return self._render(patch.pk)

    @extend_schema(
        summary="Take a patch along its cycle: assess, defer, not_applicable, reassess, test, "
        "schedule, unschedule, verify, close",
        description="Who may, and from which state, is the workflow's table: a patch "
        "administrator assesses, defers, schedules and closes; an implementer also records "
        "tests and verifications. `deploy` is the RFC's outcome, refused to a person (403).",
        request=PatchActionSerializer,
        responses={200: PatchSerializer, **_errors(PATCH_NOT_FOUND)},
    )
    @action(detail=True, methods=["post"], url_path="actions")
    def actions(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        patch = self.get_object()
        serializer = PatchActionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        workflow.perform(
            patch.pk,
            data["action"],
            self._caller(),
            serializer.payload(),
            comment=data["comment"],
        )
        return self._render(patch.pk)

    @extend_schema(
        summary="The patch's history, oldest first",
        responses={200: PatchEventSerializer(many=True), 404: PATCH_NOT_FOUND},
        filters=False,
    )
    @action(detail=True, methods=["get"], pagination_class=None, filterset_class=None)
    def history(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        patch = self.get_object()
        events = patch.events.select_related("actor").order_by("created_at", "id")
        return Response(PatchEventSerializer(events, many=True).data)

    @extend_schema(
        summary="Raise the patch run: a standard change from a template deploying tested "
        "patches, which goes ahead at once (201: the RFC)",
        description="A patch administrator who may raise the template (an originator it "
        "allows). All or nothing: the window is weighed against the school calendar (a hard "
        "freeze or a soft conflict refuses it, naming the next safe slot) and each patch "
        "must be tested; a refusal leaves no RFC behind.",
        request=RunSerializer,
        responses={201: RUN_RESPONSE, 400: BAD_INPUT, 403: FORBIDDEN, 409: CONFLICT},
        filters=False,
    )
    @action(detail=False, methods=["post"], pagination_class=None, filterset_class=None)
    def run(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = RunSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        change = services.raise_run(
            data["template"],
            self._caller(),
            data["patches"],
            planned_start=data["planned_start"],
            planned_end=data.get("planned_end"),
        )
        patches = Patch.objects.filter(change=change).order_by("id").values_list("pk", flat=True)
        body = {
            "change": change.pk,
            "reference": change.reference,
            "url": _absolute(self.get_serializer_context(), change.get_absolute_url()),
            "patches": list(patches),
        }
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="How a school stands against its patch deadlines, for patches released in a period",
        description=f"The period is at most {compliance.LONGEST} days; by default the last "
        f"{compliance.DEFAULT_DAYS} days to today, at the school.",
        parameters=[ComplianceQuerySerializer],
        responses={200: COMPLIANCE_RESPONSE, 400: BAD_INPUT, 404: SCHOOL_NOT_FOUND},
        filters=False,
    )
    @action(detail=False, methods=["get"], pagination_class=None, filterset_class=None)
    def compliance(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        query = ComplianceQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        params = query.validated_data
        school = School.objects.for_user(self._caller()).filter(slug=params["school"]).first()
        if school is None:
            raise NotFound(gettext("No such school among yours."))
        end: date = params.get("end") or today_in(school)
        start: date | None = params.get("start")
        if start is None:
            days = timedelta(days=compliance.DEFAULT_DAYS)
            start = end - days if end > date.min + days else date.min
        if start > end:
            raise serializers.ValidationError({"end": [gettext("On or after the start.")]})
        if (end - start).days + 1 > compliance.LONGEST:
            raise serializers.ValidationError(
                {
                    "end": [
                        gettext("At most %(days)s days from the start.")
                        % {"days": compliance.LONGEST}
                    ]
                }
            )
        return Response(compliance.report(school, start, end).as_dict())

    @extend_schema(
        summary="The patches, filtered as the list is, as CSV",
        description="Columns: " + ", ".join(export.HEADER) + ". Written while it is read.",
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="The CSV file.")
        },
        parameters=PATCH_FILTER_PARAMETERS,
        filters=True,
    )
    @action(
        detail=False,
        methods=["get"],
        pagination_class=None,
        content_negotiation_class=IgnoreAccept,
    )
    def export(self, request: Request, *args: Any, **kwargs: Any) -> StreamingHttpResponse:
        queryset = cast(QuerySet[Patch], self.filter_queryset(self.get_queryset()))
        return export.streaming_response(queryset)


# --- The school's deadlines. ---

SLUG_PARAMETER = OpenApiParameter(
    "slug", OpenApiTypes.STR, OpenApiParameter.PATH, description="The school's slug."
)


@extend_schema_view(
    retrieve=extend_schema(
        summary="A school's patch deadlines (the defaults until it sets its own)",
        parameters=[SLUG_PARAMETER],
        responses={200: PatchPolicySerializer, 404: SCHOOL_NOT_FOUND},
    ),
    update=extend_schema(
        summary="Set a school's patch deadlines, every one (a patch administrator or school "
        "administrator): the patches still to be deployed get their new due days",
        parameters=[SLUG_PARAMETER],
        request=PatchPolicySerializer,
        responses={200: PatchPolicySerializer, **_errors(SCHOOL_NOT_FOUND)},
    ),
    partial_update=extend_schema(
        summary="Change some of a school's patch deadlines",
        parameters=[SLUG_PARAMETER],
        request=PatchPolicySerializer,
        responses={200: PatchPolicySerializer, **_errors(SCHOOL_NOT_FOUND)},
    ),
)
class PatchPolicyViewSet(
    CallerMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet[PatchPolicy],
):
    serializer_class = PatchPolicySerializer
    filterset_class = None
    filter_backends: list[Any] = []
    pagination_class = None
    lookup_field = "slug"
    lookup_value_regex = r"[-\w]{1,100}"
    http_method_names = ["get", "put", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet[PatchPolicy]:
        return PatchPolicy.objects.none()

    def _school(self) -> School:
        slug = str(self.kwargs["slug"])
        school = School.objects.for_user(self._caller()).filter(slug=slug).first()
        if school is None:
            raise NotFound(gettext("No such school among yours."))
        return school

    def get_object(self) -> PatchPolicy:
        return PatchPolicy.of(self._school())

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        policy = self.get_object()
        partial = bool(kwargs.get("partial", False))
        serializer = self.get_serializer(policy, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        saved = services.save_policy(policy.school, self._caller(), dict(serializer.validated_data))
        return Response(self.get_serializer(saved).data)


router = SimpleRouter()
router.register("vendors", VendorViewSet, basename="patch-vendor")
router.register("vendor-sources", SourceViewSet, basename="vendor-source")
router.register("patches", PatchViewSet, basename="patch")
router.register("patch-policies", PatchPolicyViewSet, basename="patch-policy")

urlpatterns = router.urls
