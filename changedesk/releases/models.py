"""Release management, as FITS gives it.

- The **release policy** (`ReleasePolicy`): a school's rules, versioned; the published
  version is the one in force, with its **release windows** (`ReleaseWindow`), which the
  conflict engine knows (see `conflicts.py`).
- The **definitive software library** (`Software`) and its **in/out book** (`Checkout`:
  at most one open checkout per piece, by a constraint).
- **Build procedures**: a build (`Build`, e.g. "Curriculum laptop image 2027", for a
  service) and its versions (`BuildVersion`: components drawn from the library, numbered
  installation steps, stability tests, acceptance criteria), approved by the release manager;
  a build is *documented* when it has an approved version. Its history is `BuildEvent`
  (append-only).
- **Installations** (`Installation`): an installer working through the install build
  checklist of one version on one item; what each item now runs is `RunningBuild`.
- The **software licence log** (`Licence`, `LicenceAssignment`).
- **Releases** (`Release`, with `ReleaseEvent`, append-only): builds and the RFCs that carry
  them, through define, build, release and install. **Install requests** (`InstallRequest`).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone

from changedesk.accounts.models import School, SchoolScopedQuerySet, User
from changedesk.changes.models import Change
from changedesk.configuration.models import ConfigurationItem
from changedesk.releases.choices import (
    OPEN_RELEASE_STATES,
    OPEN_REQUEST_STATES,
    BuildAction,
    InstallationState,
    LicenceKind,
    PolicyState,
    ReleaseAction,
    ReleaseState,
    RequestSource,
    RequestState,
    SoftwareKind,
    VersionState,
)


class AppendOnlyQuerySet(models.QuerySet[Any]):
    def update(self, **kwargs: Any) -> int:
        raise TypeError("History is append-only: events are never updated.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise TypeError("History is append-only: events are never deleted.")


class AppendOnly(models.Model):
    """A history row: written once, never changed or deleted."""

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise TypeError("History is append-only: events are never updated.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise TypeError("History is append-only: events are never deleted.")


# --- The release policy. ---


class ReleasePolicyQuerySet(SchoolScopedQuerySet["ReleasePolicy"]):
    def published(self) -> ReleasePolicyQuerySet:
        return self.filter(state=PolicyState.PUBLISHED)


class ReleasePolicy(models.Model):
    """One version of a school's release policy. At most one is published (in force) and at
    most one is a draft; a published version is never edited: publishing a draft supersedes
    the version before it."""

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    version = models.PositiveIntegerField()
    title = models.CharField(max_length=200, default="Release policy")
    summary = models.TextField(blank=True, help_text="Why the school has these rules.")
    rules = models.TextField(
        help_text="One rule per line, e.g. “New computers only in the two release windows.”"
    )
    state = models.CharField(max_length=16, choices=PolicyState.choices, default="draft")
    created_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    published_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    published_at = models.DateTimeField(null=True, blank=True)
    comment = models.TextField(blank=True, help_text="What changed, said when it was published.")
    superseded_at = models.DateTimeField(null=True, blank=True)

    objects = ReleasePolicyQuerySet.as_manager()

    class Meta:
        ordering = ["school", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["school", "version"], name="releases_policy_version"),
            models.UniqueConstraint(
                fields=["school"],
                condition=Q(state="published"),
                name="releases_one_published_policy",
            ),
            models.UniqueConstraint(
                fields=["school"], condition=Q(state="draft"), name="releases_one_draft_policy"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} v{self.version} ({self.school})"

    @property
    def rule_list(self) -> list[str]:
        return [line.strip(" -•*\t") for line in self.rules.splitlines() if line.strip(" -•*\t")]


class ReleaseWindow(models.Model):
    """A calendar period in which releases may be installed (e.g. “Summer holiday 2027”).
    It belongs to one version of the policy; the published version's windows are in force."""

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    policy = models.ForeignKey(ReleasePolicy, on_delete=models.CASCADE, related_name="windows")
    name = models.CharField(max_length=200)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()

    class Meta:
        ordering = ["starts_at", "id"]
        indexes = [models.Index(fields=["policy", "starts_at"], name="releases_window_policy")]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="releases_window_ends_later"
            )
        ]

    def __str__(self) -> str:
        return self.name


# --- The definitive software library and its in/out book. ---


class LicenceQuerySet(SchoolScopedQuerySet["Licence"]):
    def expiring(self, today: date, until: date) -> LicenceQuerySet:
        return self.filter(is_active=True, expires_on__gte=today, expires_on__lte=until)


class Licence(models.Model):
    """One entry of the software licence log."""

    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="+")
    product = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=LicenceKind.choices, default="per_device")
    seats = models.PositiveIntegerField(
        null=True, blank=True, help_text="How many devices or people it covers (blank: any)."
    )
    bought_on = models.DateField(null=True, blank=True)
    expires_on = models.DateField(null=True, blank=True)
    supplier = models.CharField(max_length=200, blank=True)
    order_reference = models.CharField(max_length=100, blank=True)
    notice_days = models.PositiveSmallIntegerField(
        default=60, help_text="How many days before it expires to warn."
    )
    notes = models.TextField(blank=True)
    is_active = models.BooleanField(default=True, help_text="Lapsed licences stay in the log.")
    # The last day the licence holders were warned it expires (once per licence and date).
    warned_on = models.DateField(null=True, blank=True)
    # The last day its release managers were told it has more holders than seats (at most
    # once a week per licence).
    over_warned_on = models.DateField(null=True, blank=True)
    created_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = LicenceQuerySet.as_manager()

    class Meta:
        ordering = ["product", "id"]
        indexes = [
            models.Index(fields=["school", "product", "id"], name="releases_licence_product"),
            models.Index(fields=["school", "expires_on"], name="releases_licence_expires"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["school", "order_reference", "product"],
                condition=~Q(order_reference=""),
                name="releases_licence_unique_order",
            )
        ]

    def __str__(self) -> str:
        return self.product

    def get_absolute_url(self) -> str:
        return reverse("releases:licence", args=[self.pk])


class LicenceAssignment(models.Model):
    """A licence given to one computer (a configuration item) or one person (a member, or a
    name for someone who does not sign in)."""

    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="+")
    licence = models.ForeignKey(Licence, on_delete=models.CASCADE, related_name="assignments")
    item = models.ForeignKey(
        ConfigurationItem, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    user = models.ForeignKey(
        User, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    person = models.CharField(max_length=200, blank=True, help_text="Someone without an account.")
    assigned_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    assigned_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["assigned_at", "id"]
        indexes = [models.Index(fields=["licence", "assigned_at"], name="releases_assign_licence")]
        constraints = [
            models.UniqueConstraint(
                fields=["licence", "item"],
                condition=Q(item__isnull=False),
                name="releases_assign_item_once",
            ),
            models.UniqueConstraint(
                fields=["licence", "user"],
                condition=Q(user__isnull=False),
                name="releases_assign_user_once",
            ),
            models.UniqueConstraint(
                fields=["licence", "person"],
                condition=~Q(person=""),
                name="releases_assign_person_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.licence}: {self.holder}"

    @property
    def holder(self) -> str:
        if self.item_id:
            return str(self.item)
        if self.user_id:
            return str(self.user)
        return self.person


class SoftwareQuerySet(SchoolScopedQuerySet["Software"]):
    def active(self) -> SoftwareQuerySet:
        return self.filter(is_active=True)


class Software(models.Model):
    """One piece of the definitive software library: original software, a build image, a
    licence key or media the school keeps."""

    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="+")
    title = models.CharField(max_length=200)
    vendor = models.CharField(max_length=200, blank=True)
    version = models.CharField(max_length=100, blank=True)
    kind = models.CharField(max_length=16, choices=SoftwareKind.choices, default="installer")
    location = models.CharField(
        max_length=500, help_text="Where it is: a shelf, a share path or an address."
    )
    checksum = models.CharField(
        max_length=200, blank=True, help_text="e.g. sha256:9f86d081… of the file or image."
    )
    licence = models.ForeignKey(
        Licence, on_delete=models.SET_NULL, null=True, blank=True, related_name="software"
    )
    notes = models.TextField(blank=True)
    is_active = models.BooleanField(default=True, help_text="Withdrawn pieces stay in history.")
    created_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = SoftwareQuerySet.as_manager()

    class Meta:
        ordering = ["title", "version", "id"]
        verbose_name_plural = "software"
        indexes = [
            models.Index(fields=["school", "title", "id"], name="releases_software_title"),
        ]

    def __str__(self) -> str:
        return f"{self.title} {self.version}".strip()

    def get_absolute_url(self) -> str:
        return reverse("releases:software", args=[self.pk])


class CheckoutQuerySet(SchoolScopedQuerySet["Checkout"]):
    def out(self) -> CheckoutQuerySet:
        return self.filter(returned_at__isnull=True)

    def overdue(self, today: date) -> CheckoutQuerySet:
        return self.filter(returned_at__isnull=True, due_back__lt=today)


class Checkout(models.Model):
    """One line of the in/out book: who took a piece of the library, when, for what, when it
    is due back and when it came back. A piece is out at most once at a time (a constraint);
    only a piece that is out comes back."""

    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="+")
    software = models.ForeignKey(Software, on_delete=models.PROTECT, related_name="checkouts")
    taken_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    taken_at = models.DateTimeField(default=timezone.now)
    due_back = models.DateField(help_text="A day where the school is.")
    purpose = models.CharField(max_length=300, blank=True)
    change = models.ForeignKey(
        Change, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    release = models.ForeignKey(
        "Release", on_delete=models.PROTECT, null=True, blank=True, related_name="checkouts"
    )
    recorded_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    returned_at = models.DateTimeField(null=True, blank=True)
    returned_to = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    return_notes = models.TextField(blank=True)
    # The last day the taker was reminded it is overdue.
    nudged_on = models.DateField(null=True, blank=True)

    objects = CheckoutQuerySet.as_manager()

    class Meta:
        ordering = ["-taken_at", "-id"]
        indexes = [
            models.Index(fields=["software", "-taken_at"], name="releases_checkout_software"),
            # The book across a person's schools, newest first (the API list).
            models.Index(fields=["school", "-taken_at", "-id"], name="releases_checkout_new"),
            models.Index(
                fields=["school", "due_back"],
                condition=Q(returned_at__isnull=True),
                name="releases_checkout_out",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["software"],
                condition=Q(returned_at__isnull=True),
                name="releases_checkout_out_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.software} taken by {self.taken_by}"

    @property
    def is_out(self) -> bool:
        return self.returned_at is None


# --- Build procedures. ---


class BuildQuerySet(SchoolScopedQuerySet["Build"]):
    def documented(self) -> BuildQuerySet:
        return self.filter(approved_version__isnull=False)


class Build(models.Model):
    """A service's build (e.g. “Curriculum laptop image 2027”). Its procedure is versioned
    (`versions`); `approved_version` is the one in force (None: not documented yet)."""

    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=200)
    service = models.ForeignKey(
        ConfigurationItem,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The service this build provides.",
    )
    description = models.TextField(blank=True)
    approved_version = models.ForeignKey(
        "BuildVersion", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    is_active = models.BooleanField(default=True, help_text="Retired builds stay in history.")
    created_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = BuildQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["school", "name", "id"], name="releases_build_name")]
        constraints = [
            # Case-insensitive: "Curriculum image" and "curriculum IMAGE" are one build.
            models.UniqueConstraint("school", Lower("name"), name="releases_build_unique_name_ci")
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("releases:build", args=[self.pk])

    @property
    def is_documented(self) -> bool:
        return self.approved_version_id is not None


class BuildVersion(models.Model):
    """One version of a build procedure, in FITS's four parts. Editable while a draft (or
    returned); sent for approval; approved by a release manager, after which it never
    changes (a new version is written instead).

    `components`: [{"software": id or null, "title": str, "version": str}], drawn from the
    library; `steps` and `criteria`: lists of strings, numbered in order."""

    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="+")
    build = models.ForeignKey(Build, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    label = models.CharField(
        max_length=50, blank=True, help_text="How the build names it, e.g. 2027.1."
    )
    state = models.CharField(max_length=16, choices=VersionState.choices, default="draft")
    components = models.JSONField(default=list, blank=True)
    steps = models.JSONField(default=list, blank=True)
    stability_tests = models.TextField(
        blank=True, help_text="What it must not harm: the environment it is tested against."
    )
    criteria = models.JSONField(default=list, blank=True)
    notes = models.TextField(blank=True)
    created_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["build", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["build", "number"], name="releases_version_number")
        ]
        indexes = [
            models.Index(fields=["school", "approved_at"], name="releases_version_approved"),
            models.Index(fields=["school", "state"], name="releases_version_state"),
        ]

    def __str__(self) -> str:
        return f"{self.build} v{self.number}" + (f" ({self.label})" if self.label else "")

    @property
    def name(self) -> str:
        return self.label or f"v{self.number}"


class BuildEvent(AppendOnly):
    """One step in a build procedure's life (created, edited, sent, approved, returned)."""

    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="+")
    build = models.ForeignKey(Build, on_delete=models.PROTECT, related_name="events")
    version = models.ForeignKey(
        BuildVersion, on_delete=models.PROTECT, null=True, blank=True, related_name="events"
    )
    kind = models.CharField(max_length=16, choices=BuildAction.choices)
    actor = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    comment = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["build", "created_at", "id"], name="releases_bevent")]

    def __str__(self) -> str:
        return f"{self.build}: {self.get_kind_display()}"


# --- Releases and install requests. ---


class ReleaseQuerySet(SchoolScopedQuerySet["Release"]):
    def open(self) -> ReleaseQuerySet:
        return self.filter(state__in=OPEN_RELEASE_STATES)


class Release(models.Model):
    """A release: builds and the RFCs that carry them, moved through FITS's steps (define,
    build, release, install) by `releases.workflow.perform`, with its own history."""

    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="+")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    state = models.CharField(max_length=16, choices=ReleaseState.choices, default="define")
    manager = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    planned_start = models.DateTimeField(null=True, blank=True)
    planned_end = models.DateTimeField(null=True, blank=True)
    builds = models.ManyToManyField(Build, blank=True, related_name="releases")
    created_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    objects = ReleaseQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["school", "-created_at", "-id"], name="releases_release_new"),
            models.Index(fields=["school", "planned_start"], name="releases_release_start"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(planned_end__isnull=True)
                | Q(planned_start__isnull=True)
                | Q(planned_end__gt=models.F("planned_start")),
                name="releases_release_ends_later",
            )
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("releases:release", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_RELEASE_STATES


class ReleaseChange(models.Model):
    """An RFC that carries (part of) a release. An RFC belongs to at most one release."""

    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="+")
    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="change_links")
    change = models.OneToOneField(Change, on_delete=models.CASCADE, related_name="+")
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["release", "id"]

    def __str__(self) -> str:
        return f"{self.release}: {self.change_id}"


class ReleaseEvent(AppendOnly):
    """One step in a release's life. Written once by `workflow.perform` and the services."""

    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="+")
    release = models.ForeignKey(Release, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=16, choices=ReleaseAction.choices)
    from_state = models.CharField(max_length=16, choices=ReleaseState.choices, blank=True)
    to_state = models.CharField(max_length=16, choices=ReleaseState.choices, blank=True)
    actor = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    comment = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["release", "created_at", "id"], name="releases_revent")]

    def __str__(self) -> str:
        return f"{self.release}: {self.get_kind_display()}"


class InstallRequestQuerySet(SchoolScopedQuerySet["InstallRequest"]):
    def waiting(self) -> InstallRequestQuerySet:
        return self.filter(state__in=OPEN_REQUEST_STATES)


class InstallRequest(models.Model):
    """A request to install something: from one person (any member may send one), or from
    an RFC (infrastructure). Routed to the school's installers."""

    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="+")
    source = models.CharField(max_length=16, choices=RequestSource.choices, default="person")
    what = models.CharField(max_length=300, help_text="What should be installed.")
    software = models.ForeignKey(
        Software, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    build = models.ForeignKey(
        Build, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    where = models.CharField(
        max_length=300, blank=True, help_text="Which computer, room or group of devices."
    )
    item = models.ForeignKey(
        ConfigurationItem, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reason = models.TextField(blank=True, help_text="Why it is needed (e.g. for which lessons).")
    needed_by = models.DateField(null=True, blank=True)
    change = models.ForeignKey(
        Change, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    release = models.ForeignKey(
        Release, on_delete=models.SET_NULL, null=True, blank=True, related_name="requests"
    )
    state = models.CharField(max_length=16, choices=RequestState.choices, default="open")
    requested_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    assigned_to = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    answer = models.TextField(blank=True, help_text="The installer's reply (why declined).")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    objects = InstallRequestQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["school", "-created_at", "-id"], name="releases_request_new"),
            models.Index(fields=["school", "state"], name="releases_request_state"),
        ]

    def __str__(self) -> str:
        return self.what

    def get_absolute_url(self) -> str:
        return reverse("releases:request", args=[self.pk])


# --- Installations. ---


class InstallationQuerySet(SchoolScopedQuerySet["Installation"]):
    pass


class Installation(models.Model):
    """One installation of a build version on one configuration item (a computer or a
    device group), recorded with the install build checklist.

    `checklist`: [{"step": str, "done": bool}], one per step of the version;
    `results`: [{"criterion": str, "result": "passed" | "failed" | "", "note": str}], one
    per acceptance criterion. Both are copied from the version when it starts, so the record
    keeps what the installer followed."""

    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="+")
    build = models.ForeignKey(Build, on_delete=models.PROTECT, related_name="installations")
    version = models.ForeignKey(
        BuildVersion, on_delete=models.PROTECT, related_name="installations"
    )
    item = models.ForeignKey(
        ConfigurationItem, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    target = models.CharField(
        max_length=200, blank=True, help_text="The computer or device group, when not an item."
    )
    installer = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    state = models.CharField(
        max_length=16, choices=InstallationState.choices, default="in_progress"
    )
    checklist = models.JSONField(default=list, blank=True)
    results = models.JSONField(default=list, blank=True)
    notes = models.TextField(blank=True)
    release = models.ForeignKey(
        Release, on_delete=models.SET_NULL, null=True, blank=True, related_name="installations"
    )
    change = models.ForeignKey(
        Change, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    request = models.ForeignKey(
        InstallRequest,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="installations",
    )
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = InstallationQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [
            models.Index(fields=["school", "-started_at", "-id"], name="releases_install_new"),
            models.Index(fields=["school", "state", "finished_at"], name="releases_install_done"),
            models.Index(fields=["item", "-finished_at"], name="releases_install_item"),
        ]

    def __str__(self) -> str:
        return f"{self.version} on {self.item or self.target}"

    def get_absolute_url(self) -> str:
        return reverse("releases:installation", args=[self.pk])


class RunningBuild(models.Model):
    """What a configuration item runs now: the build version its last successful
    installation put on it."""

    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="+")
    item = models.OneToOneField(ConfigurationItem, on_delete=models.CASCADE, related_name="+")
    build = models.ForeignKey(Build, on_delete=models.PROTECT, related_name="+")
    version = models.ForeignKey(BuildVersion, on_delete=models.PROTECT, related_name="+")
    installation = models.ForeignKey(Installation, on_delete=models.PROTECT, related_name="+")
    since = models.DateTimeField()

    class Meta:
        ordering = ["item"]
        # The API lists them by school, then item.
        indexes = [models.Index(fields=["school", "item"], name="releases_running_school")]

    def __str__(self) -> str:
        return f"{self.item}: {self.version}"
