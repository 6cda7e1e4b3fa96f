"""Writes of build procedures and installations, each asking `releases.permissions`.

A build (`Build`) is a service's build, e.g. “Curriculum laptop image 2027”; its procedure is
versioned (`BuildVersion`), in FITS's four parts: the components drawn from the library
(design details), numbered installation steps, stability tests and acceptance criteria.

A version's life, one door per step, each writing a `BuildEvent` (append-only):

    new_version   (none)               -> draft      a build developer or release manager
    save_version  draft | returned     -> (same)     the same
    submit        draft | returned     -> submitted  the same; needs a step and a criterion
    approve       submitted            -> approved   a release manager who is not one of its
                                                     authors (whoever created, edited or
                                                     submitted it, from its events); the
                                                     approved version before it is superseded
    return_version submitted           -> returned   a release manager, with a reason

A build has at most one version in the works (draft, submitted or returned) at a time, so
two approvals cannot race on one build: `approve` locks the build's row, then the version's.
Every write of a version locks the build's row first, so retiring a build (`save_build` with
`is_active` false, recorded as a `retire` event) cannot race it: a retired build's versions
are not saved, submitted, approved or installed.

Links (a release, an RFC, an install request, a service) are checked by one rule for the
pages and the API alike (`open_link`): a closed or cancelled release, an RFC in a terminal
state, an install request done or declined and a retired item are refused.

An installation (`Installation`) works through the install build checklist of an approved
version (the one in force, or an older approved one, now superseded: an older machine may
be rebuilt with the build it had) on one configuration item or a named target. Its steps
and criteria are copied when it starts. `record` ticks steps and answers criteria while it
is in progress (its installer, or a release manager); `finish` is refused until every step
is ticked and every criterion answered, and ends it `installed` (every criterion passed) or
`failed`. An installed item's `RunningBuild` then names this version.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max, Model, QuerySet
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop, ngettext

from changedesk.accounts import permissions as accounts
from changedesk.accounts.choices import Role
from changedesk.accounts.models import School, User
from changedesk.changes.models import Change
from changedesk.configuration.models import ConfigurationItem, ItemKind
from changedesk.lib.errors import InvalidAction, NotPermitted
from changedesk.releases import permissions
from changedesk.releases.choices import (
    OPEN_REQUEST_STATES,
    BuildAction,
    CriterionResult,
    InstallationState,
    VersionState,
)
from changedesk.releases.models import (
    Build,
    BuildEvent,
    BuildVersion,
    Installation,
    InstallRequest,
    Release,
    RunningBuild,
    Software,
)
from changedesk.releases.services import requests as install_requests
from changedesk.releases.services.links import open_link, row_of

FIX = gettext_noop("Some fields need correcting.")
BUILD_FIELDS = ("name", "service", "description", "is_active")
VERSION_FIELDS = ("label", "components", "steps", "stability_tests", "criteria", "notes")
START_FIELDS = ("item", "target", "release", "change", "request")
RECORD_FIELDS = ("checklist", "results", "notes")
# The states in which a version may still be written.
EDITABLE = (VersionState.DRAFT, VersionState.RETURNED)
# A version in the works: a build has at most one.
IN_THE_WORKS = (VersionState.DRAFT, VersionState.RETURNED, VersionState.SUBMITTED)
# Versions an installation may follow: approved once (the one in force, or superseded).
INSTALLABLE = (VersionState.APPROVED, VersionState.SUPERSEDED)
MOST_LINES = 100
LONGEST_LINE = 2000
LONGEST_TEXT = 20_000
MOST_COMPONENTS = 50
# The events that make a person one of a version's authors (separation of duties).
AUTHORING = (BuildAction.CREATE, BuildAction.EDIT, BuildAction.SUBMIT)


# --- Helpers. ---


def _unknown(data: dict[str, Any], allowed: Iterable[str]) -> None:
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise InvalidAction(gettext(FIX), {n: gettext("Not a field you may set.") for n in unknown})


def _clean(instance: Model, exclude: Iterable[str] = ()) -> None:
    try:
        instance.full_clean(exclude=list(exclude), validate_unique=False)
    except ValidationError as error:
        fields = {n: " ".join(str(m) for m in ms) for n, ms in error.message_dict.items()}
        raise InvalidAction(gettext(FIX), fields) from error


def _require(allowed: bool, message: str) -> None:
    if not allowed:
        raise NotPermitted(message)


def _event(
    build: Build,
    version: BuildVersion | None,
    kind: str,
    actor: User,
    comment: str = "",
    data: dict[str, Any] | None = None,
) -> BuildEvent:
    return BuildEvent.objects.create(
        school_id=build.school_id,
        build=build,
        version=version,
        kind=kind,
        actor=actor,
        comment=comment,
        data=data or {},
    )


def _at_most_characters(longest: int) -> str:
    return ngettext("At most %(count)s character.", "At most %(count)s characters.", longest) % {
        "count": f"{longest:,}"
    }


def _text(value: Any, field: str, longest: int = LONGEST_TEXT) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or "\x00" in value:
        raise InvalidAction(gettext(FIX), {field: gettext("Give text.")})
    if len(value) > longest:
        raise InvalidAction(gettext(FIX), {field: _at_most_characters(longest)})
    return value.strip()


def clean_lines(value: Any, field: str) -> list[str]:
    """A list of non-empty strings (steps, criteria); text is read one per line."""
    if isinstance(value, str):
        value = [line for line in value.splitlines() if line.strip()]
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise InvalidAction(gettext(FIX), {field: gettext("Give a list of texts.")})
    lines = [v.strip() for v in value]
    if any(not line for line in lines):
        raise InvalidAction(
            gettext(FIX), {field: gettext("An entry is empty: write it, or leave it out.")}
        )
    if len(lines) > MOST_LINES:
        raise InvalidAction(
            gettext(FIX),
            {
                field: ngettext(
                    "At most %(count)s entry.", "At most %(count)s entries.", MOST_LINES
                )
                % {"count": MOST_LINES}
            },
        )
    if any(len(line) > LONGEST_LINE or "\x00" in line for line in lines):
        raise InvalidAction(
            gettext(FIX),
            {
                field: ngettext(
                    "Each entry at most %(count)s character.",
                    "Each entry at most %(count)s characters.",
                    LONGEST_LINE,
                )
                % {"count": f"{LONGEST_LINE:,}"}
            },
        )
    return lines


def clean_components(value: Any, school: School, kept: Iterable[int] = ()) -> list[dict[str, Any]]:
    """Components: each `{software: id}` (a piece of the school's library, whose title and
    version are copied now, so the procedure keeps them) or `{title, version}` typed. A
    withdrawn piece is refused unless the version names it already (`kept`): it may stay."""
    if not isinstance(value, list | tuple) or not all(isinstance(c, dict) for c in value):
        raise InvalidAction(gettext(FIX), {"components": gettext("Give a list of components.")})
    if len(value) > MOST_COMPONENTS:
        raise InvalidAction(
            gettext(FIX),
            {
                "components": ngettext(
                    "At most %(count)s component.", "At most %(count)s components.", MOST_COMPONENTS
                )
                % {"count": MOST_COMPONENTS}
            },
        )
    wanted = [c.get("software") for c in value if c.get("software") not in (None, "")]
    if any(not isinstance(w, int) or isinstance(w, bool) or not 0 < w < 2**63 for w in wanted):
        raise InvalidAction(
            gettext(FIX), {"components": gettext("A piece of the library is named by its id.")}
        )
    pieces = Software.objects.filter(school=school).in_bulk(wanted) if wanted else {}
    kept_ids = set(kept)
    found: list[dict[str, Any]] = []
    for n, component in enumerate(value, start=1):
        extra = set(component) - {"software", "title", "version"}
        if extra:
            raise InvalidAction(
                gettext(FIX),
                {
                    "components": gettext("Component %(n)s: unknown %(names)s.")
                    % {"n": n, "names": ", ".join(sorted(extra))}
                },
            )
        software = component.get("software")
        if software not in (None, ""):
            piece = pieces.get(software)
            if piece is None:
                raise InvalidAction(
                    gettext(FIX),
                    {
                        "components": gettext("Component %(n)s: not in %(school)s's library.")
                        % {"n": n, "school": school.name}
                    },
                )
            if not piece.is_active and piece.pk not in kept_ids:
                raise InvalidAction(
                    gettext(FIX),
                    {
                        "components": gettext("Component %(n)s: %(title)s is withdrawn.")
                        % {"n": n, "title": piece.title}
                    },
                )
            found.append({"software": piece.pk, "title": piece.title, "version": piece.version})
            continue
        title = _text(component.get("title"), "components", 200)
        version = _text(component.get("version"), "components", 100)
        if not title:
            raise InvalidAction(
                gettext(FIX),
                {
                    "components": gettext(
                        "Component %(n)s: choose a piece of the library or type a title."
                    )
                    % {"n": n}
                },
            )
        found.append({"software": None, "title": title, "version": version})
    return found


# --- Builds. ---


def save_build(
    school: School, user: User, data: dict[str, Any], build: Build | None = None
) -> Build:
    """Add a build to `school` (`build` None) or change one."""
    _unknown(data, BUILD_FIELDS)
    user = accounts.with_roles(user)
    with transaction.atomic():
        if build is not None:
            build = Build.objects.select_for_update().get(pk=build.pk)
            school = build.school
        _require(
            permissions.may_write_builds(user, school),
            gettext("Only a build developer or a release manager of %(school)s may write builds.")
            % {"school": school.name},
        )
        creating = build is None
        if build is None:
            build = Build(school=school, created_by=user)
        before = {n: _shown(getattr(build, n)) for n in BUILD_FIELDS}
        for name, value in data.items():
            if name == "service":
                if _shown(value) == build.service_id and value is not None:
                    # Kept as it is: a service retired since may stay named.
                    value = row_of(ConfigurationItem, value, school, "service", "a service")
                else:
                    value = open_link(ConfigurationItem, value, school, "service", "a service")
                if value is not None and value.kind != ItemKind.SERVICE:
                    raise InvalidAction(
                        gettext(FIX), {"service": gettext("Choose an item of kind service.")}
                    )
            elif name in ("name", "description"):
                value = _text(value, name)
            elif name == "is_active" and not isinstance(value, bool):
                raise InvalidAction(gettext(FIX), {"is_active": gettext("Must be true or false.")})
            setattr(build, name, value)
        _clean(build, exclude=["school", "approved_version", "created_by"])
        taken_message = gettext("%(school)s has a build of that name already.") % {
            "school": school.name
        }
        taken = Build.objects.filter(school=school, name__iexact=build.name).exclude(pk=build.pk)
        if taken.exists():
            raise InvalidAction(gettext(FIX), {"name": taken_message})
        try:
            # Two at once with one name: the case-insensitive constraint refuses the second.
            with transaction.atomic():
                build.save()
        except IntegrityError as error:
            raise InvalidAction(gettext(FIX), {"name": taken_message}) from error
        after = {n: _shown(getattr(build, n)) for n in BUILD_FIELDS}
        changed = {n: after[n] for n in BUILD_FIELDS if creating or after[n] != before[n]}
        if creating or changed:
            if creating:
                kind = BuildAction.CREATE
            elif before["is_active"] and not after["is_active"]:
                kind = BuildAction.RETIRE
            else:
                kind = BuildAction.EDIT
            _event(build, None, kind, user, data={"fields": changed})
    return build


def _shown(value: Any) -> Any:
    return value.pk if isinstance(value, Model) else value


def undocumented_services(school: School) -> QuerySet[ConfigurationItem]:
    """The school's services in use with no active build that has an approved version (one
    query: the documented builds' services are a subquery)."""
    return undocumented_in([school.pk])


def undocumented_in(school_ids: list[int]) -> QuerySet[ConfigurationItem]:
    """`undocumented_services` of several schools at once (one query), by school and name."""
    documented = Build.objects.filter(
        school__in=school_ids,
        is_active=True,
        approved_version__isnull=False,
        service__isnull=False,
    ).values("service_id")
    return (
        ConfigurationItem.objects.filter(
            school__in=school_ids, kind=ItemKind.SERVICE, is_active=True
        )
        .exclude(pk__in=documented)
        .order_by("school_id", "name", "id")
    )


# --- Versions. ---


def _locked_version(version: BuildVersion) -> BuildVersion:
    """The version, its build's row locked first (the order `approve` and a retire take),
    refused when the build is retired."""
    build = Build.objects.select_for_update().get(pk=version.build_id)
    version = (
        BuildVersion.objects.select_for_update()
        .select_related("build", "school")
        .get(pk=version.pk)
    )
    version.build = build
    if not build.is_active:
        raise InvalidAction(gettext("The build is retired: its procedure is not written any more."))
    return version


def authors(version: BuildVersion, events: Iterable[BuildEvent] | None = None) -> set[int]:
    """The ids of the people who created, edited or submitted the version (from its events;
    its creator too). `events` are the build's or the version's events when already read."""
    if events is None:
        found = set(
            BuildEvent.objects.filter(version=version, kind__in=AUTHORING).values_list(
                "actor_id", flat=True
            )
        )
    else:
        found = {e.actor_id for e in events if e.version_id == version.pk and e.kind in AUTHORING}
    found.add(version.created_by_id)
    found.discard(None)
    return {int(pk) for pk in found if pk is not None}


def new_version(build: Build, user: User) -> BuildVersion:
    """A draft, copying the parts of the build's latest version (or empty)."""
    user = accounts.with_roles(user)
    with transaction.atomic():
        build = Build.objects.select_for_update().select_related("school").get(pk=build.pk)
        _require(
            permissions.may_write_builds(user, build.school),
            gettext(
                "Only a build developer or a release manager of %(school)s may write build "
                "procedures."
            )
            % {"school": build.school.name},
        )
        if not build.is_active:
            raise InvalidAction(gettext("The build is retired: bring it back into use first."))
        open_one = build.versions.filter(state__in=IN_THE_WORKS).first()
        if open_one is not None:
            raise InvalidAction(
                gettext("Version %(number)s is still %(state)s: finish it first.")
                % {"number": open_one.number, "state": open_one.get_state_display().lower()}
            )
        latest = build.versions.order_by("-number").first()
        number = (build.versions.aggregate(n=Max("number"))["n"] or 0) + 1
        version = BuildVersion.objects.create(
            school_id=build.school_id,
            build=build,
            number=number,
            created_by=user,
            components=list(latest.components) if latest else [],
            steps=list(latest.steps) if latest else [],
            stability_tests=latest.stability_tests if latest else "",
            criteria=list(latest.criteria) if latest else [],
            notes=latest.notes if latest else "",
        )
        _event(
            build,
            version,
            BuildAction.CREATE,
            user,
            data={"number": number, "from": latest.number if latest else None},
        )
    return version


def save_version(version: BuildVersion, user: User, data: dict[str, Any]) -> BuildVersion:
    """Write a draft (or returned) version's parts."""
    _unknown(data, VERSION_FIELDS)
    user = accounts.with_roles(user)
    with transaction.atomic():
        version = _locked_version(version)
        school = version.school
        _require(
            permissions.may_write_builds(user, school),
            gettext(
                "Only a build developer or a release manager of %(school)s may write build "
                "procedures."
            )
            % {"school": school.name},
        )
        if version.state not in EDITABLE:
            raise InvalidAction(
                gettext(
                    "Version %(number)s is %(state)s: only a draft or a returned version may be "
                    "changed. Write a new version."
                )
                % {"number": version.number, "state": version.get_state_display().lower()}
            )
        changed: list[str] = []
        for name, value in data.items():
            if name == "components":
                named = [c.get("software") for c in version.components if c.get("software")]
                value = clean_components(value, school, named)
            elif name in ("steps", "criteria"):
                value = clean_lines(value, name)
            elif name == "label":
                value = _text(value, name, 50)
            else:
                value = _text(value, name)
            if getattr(version, name) != value:
                changed.append(name)
            setattr(version, name, value)
        version.save()
        if changed:
            _event(version.build, version, BuildAction.EDIT, user, data={"fields": changed})
    return version


def submit(version: BuildVersion, user: User) -> BuildVersion:
    """Send a draft (or returned) version for approval."""
    user = accounts.with_roles(user)
    with transaction.atomic():
        version = _locked_version(version)
        school = version.school
        _require(
            permissions.may_write_builds(user, school),
            gettext(
                "Only a build developer or a release manager of %(school)s may send a build "
                "procedure for approval."
            )
            % {"school": school.name},
        )
        if version.state not in EDITABLE:
            raise InvalidAction(
                gettext(
                    "Version %(number)s is %(state)s: only a draft or a returned version is sent "
                    "for approval."
                )
                % {"number": version.number, "state": version.get_state_display().lower()}
            )
        missing = {}
        if not version.steps:
            missing["steps"] = gettext("Write at least one installation step.")
        if not version.criteria:
            missing["criteria"] = gettext("Write at least one acceptance criterion.")
        if missing:
            raise InvalidAction(gettext("The procedure is not complete yet."), missing)
        version.state = VersionState.SUBMITTED
        version.submitted_at = timezone.now()
        version.save(update_fields=["state", "submitted_at", "updated_at"])
        _event(version.build, version, BuildAction.SUBMIT, user)
    return version


def _deciding(version: BuildVersion, user: User) -> tuple[Build, BuildVersion]:
    """The build and the version, locked in that order, for a release manager's decision."""
    version = _locked_version(version)
    build = version.build
    _require(
        permissions.may_approve_builds(user, version.school),
        gettext("Only a release manager of %(school)s may approve or return build procedures.")
        % {"school": version.school.name},
    )
    if version.state != VersionState.SUBMITTED:
        raise InvalidAction(
            gettext(
                "Version %(number)s is %(state)s: only a version waiting for approval is decided."
            )
            % {"number": version.number, "state": version.get_state_display().lower()}
        )
    return build, version


def approve(version: BuildVersion, user: User, comment: str = "") -> BuildVersion:
    """Approve a submitted version: it is the build's procedure in force, and the version
    approved before it is superseded. Its author may not approve it (separation of duties)."""
    user = accounts.with_roles(user)
    comment = _text(comment, "comment")
    with transaction.atomic():
        build, version = _deciding(version, user)
        if user.pk in authors(version):
            raise NotPermitted(
                gettext(
                    "You wrote, edited or sent this version: another release manager approves "
                    "it (separation of duties)."
                )
            )
        now = timezone.now()
        before = build.approved_version_id
        if before is not None:
            BuildVersion.objects.filter(pk=before).update(
                state=VersionState.SUPERSEDED, updated_at=now
            )
        version.state = VersionState.APPROVED
        version.approved_by = user
        version.approved_at = now
        version.save(update_fields=["state", "approved_by", "approved_at", "updated_at"])
        build.approved_version = version
        build.save(update_fields=["approved_version", "updated_at"])
        _event(build, version, BuildAction.APPROVE, user, comment, {"supersedes": before})
    return version


def return_version(version: BuildVersion, user: User, reason: str) -> BuildVersion:
    """Send a submitted version back to its author for more work, saying why."""
    user = accounts.with_roles(user)
    reason = _text(reason, "reason")
    with transaction.atomic():
        build, version = _deciding(version, user)
        if not reason:
            raise InvalidAction(gettext(FIX), {"reason": gettext("Say what needs more work.")})
        version.state = VersionState.RETURNED
        version.save(update_fields=["state", "updated_at"])
        _event(build, version, BuildAction.RETURN, user, reason)
    return version


# --- Installations. ---


def _require_installer(user: User, school: School) -> None:
    _require(
        permissions.may_install(user, school),
        gettext("Only an installer or a release manager of %(school)s may install builds.")
        % {"school": school.name},
    )


def start_installation(version: BuildVersion, user: User, data: dict[str, Any]) -> Installation:
    """Start installing an approved version on an item (or a named target)."""
    _unknown(data, START_FIELDS)
    user = accounts.with_roles(user)
    with transaction.atomic():
        # The build's row is the lock: a retire waits for the start, or the start sees it.
        build = Build.objects.select_for_update().get(pk=version.build_id)
        version = BuildVersion.objects.select_related("school").get(pk=version.pk)
        version.build = build
        school = version.school
        _require_installer(user, school)
        if version.state not in INSTALLABLE:
            raise InvalidAction(
                gettext("Version %(number)s is %(state)s: only an approved version is installed.")
                % {"number": version.number, "state": version.get_state_display().lower()}
            )
        if not version.build.is_active:
            raise InvalidAction(gettext("The build is retired: it is not installed any more."))
        item = open_link(ConfigurationItem, data.get("item"), school, "item", "an item")
        target = _text(data.get("target"), "target", 200)
        if item is not None and target:
            raise InvalidAction(
                gettext(FIX), {"target": gettext("Choose an item or type a target, not both.")}
            )
        if item is None and not target:
            raise InvalidAction(
                gettext(FIX),
                {"item": gettext("Choose the item, or type what it is installed on.")},
            )
        installation = Installation.objects.create(
            school=school,
            build=version.build,
            version=version,
            item=item,
            target=target,
            installer=user,
            checklist=[{"step": s, "done": False} for s in version.steps],
            results=[{"criterion": c, "result": "", "note": ""} for c in version.criteria],
            release=open_link(Release, data.get("release"), school, "release", "a release"),
            change=open_link(Change, data.get("change"), school, "change", "an RFC"),
            request=open_link(
                InstallRequest, data.get("request"), school, "request", "an install request"
            ),
        )
    return installation


def may_record(user: User, installation: Installation) -> bool:
    """Its installer (who still may install), or a release manager of its school."""
    school = installation.school
    if accounts.holds(user, Role.RELEASE_MANAGER, school):
        return True
    return installation.installer_id == user.pk and permissions.may_install(user, school)


def _locked_installation(installation: Installation, user: User) -> Installation:
    installation = (
        Installation.objects.select_for_update().select_related("school").get(pk=installation.pk)
    )
    _require(
        may_record(user, installation),
        gettext("Only its installer or a release manager records an installation."),
    )
    if installation.state != InstallationState.IN_PROGRESS:
        raise InvalidAction(
            gettext("The installation is %(state)s: its record is closed.")
            % {"state": installation.get_state_display().lower()}
        )
    return installation


def record(installation: Installation, user: User, data: dict[str, Any]) -> Installation:
    """Tick steps (`checklist`: a yes/no per step, in order), answer criteria (`results`: a
    `{result, note}` per criterion, result "passed", "failed" or "" for not yet) and write
    notes, while it is in progress."""
    _unknown(data, RECORD_FIELDS)
    user = accounts.with_roles(user)
    with transaction.atomic():
        installation = _locked_installation(installation, user)
        if "checklist" in data:
            ticks = data["checklist"]
            steps = installation.checklist
            if not isinstance(ticks, list | tuple) or not all(isinstance(t, bool) for t in ticks):
                raise InvalidAction(
                    gettext(FIX), {"checklist": gettext("Give true or false for each step.")}
                )
            if len(ticks) != len(steps):
                raise InvalidAction(
                    gettext(FIX),
                    {
                        "checklist": ngettext(
                            "Give one answer for each of the %(count)s step.",
                            "Give one answer for each of the %(count)s steps.",
                            len(steps),
                        )
                        % {"count": len(steps)}
                    },
                )
            installation.checklist = [
                {"step": s["step"], "done": t} for s, t in zip(steps, ticks, strict=True)
            ]
        if "results" in data:
            installation.results = _clean_results(data["results"], installation.results)
        if "notes" in data:
            installation.notes = _text(data["notes"], "notes")
        installation.save(update_fields=["checklist", "results", "notes"])
    return installation


def _clean_results(value: Any, criteria: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if not isinstance(value, list | tuple) or not all(isinstance(r, dict) for r in value):
        raise InvalidAction(
            gettext(FIX), {"results": gettext("Give a {result, note} for each criterion.")}
        )
    if len(value) != len(criteria):
        raise InvalidAction(
            gettext(FIX),
            {
                "results": ngettext(
                    "Give one answer for each of the %(count)s criterion.",
                    "Give one answer for each of the %(count)s criteria.",
                    len(criteria),
                )
                % {"count": len(criteria)}
            },
        )
    allowed = {"", *CriterionResult.values}
    found = []
    for n, (given, criterion) in enumerate(zip(value, criteria, strict=True), start=1):
        if set(given) - {"result", "note"}:
            raise InvalidAction(
                gettext(FIX),
                {"results": gettext("Criterion %(n)s: only a result and a note.") % {"n": n}},
            )
        result = given.get("result") or ""
        if result not in allowed:
            raise InvalidAction(
                gettext(FIX),
                {"results": gettext("Criterion %(n)s: passed, failed or blank.") % {"n": n}},
            )
        note = _text(given.get("note"), "results", LONGEST_LINE)
        found.append({"criterion": criterion["criterion"], "result": result, "note": note})
    return found


def finish(installation: Installation, user: User) -> Installation:
    """End the installation: installed when every criterion passed, else failed. Refused
    until every step is ticked and every criterion answered."""
    user = accounts.with_roles(user)
    with transaction.atomic():
        installation = _locked_installation(installation, user)
        missing = {}
        undone = [n for n, s in enumerate(installation.checklist, start=1) if not s["done"]]
        if undone:
            missing["checklist"] = gettext("Tick every step first: %(numbers)s not done.") % {
                "numbers": _numbers(undone)
            }
        open_ = [n for n, r in enumerate(installation.results, start=1) if not r["result"]]
        if open_:
            missing["results"] = gettext(
                "Answer every criterion first: %(numbers)s not answered."
            ) % {"numbers": _numbers(open_)}
        if missing:
            raise InvalidAction(gettext("The checklist is not complete yet."), missing)
        passed = all(r["result"] == CriterionResult.PASSED for r in installation.results)
        now = timezone.now()
        installation.state = InstallationState.INSTALLED if passed else InstallationState.FAILED
        installation.finished_at = now
        installation.save(update_fields=["state", "finished_at"])
        if passed and installation.item_id is not None:
            # The item's row is the lock: two installations finishing on it take turns.
            ConfigurationItem.objects.select_for_update().filter(pk=installation.item_id).get()
            RunningBuild.objects.update_or_create(
                item_id=installation.item_id,
                defaults={
                    "school_id": installation.school_id,
                    "build_id": installation.build_id,
                    "version_id": installation.version_id,
                    "installation": installation,
                    "since": now,
                },
            )
        if passed and installation.request_id is not None:
            _answer_request(installation, installation.request_id, user)
    return installation


def _answer_request(installation: Installation, request_id: int, user: User) -> None:
    """The install request it answers is done (its requester told), if still open."""
    request = InstallRequest.objects.filter(pk=request_id).first()
    if request is None or request.state not in OPEN_REQUEST_STATES:
        return
    where = installation.item.name if installation.item else installation.target
    install_requests.done(
        request.pk,
        user,
        installation,
        answer=f"Installed: {installation.build.name} {installation.version.name} on {where}.",
    )


def _numbers(numbers: list[int]) -> str:
    shown = ", ".join(str(n) for n in numbers[:10])
    return shown + ("…" if len(numbers) > 10 else "")
