"""The kinds and states of release management. Values are public API."""

from __future__ import annotations

from django.db import models


class PolicyState(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"
    # A published version that a later one replaced: kept, never changed.
    SUPERSEDED = "superseded", "Superseded"


class SoftwareKind(models.TextChoices):
    INSTALLER = "installer", "Installer"
    IMAGE = "image", "Build image"
    LICENCE_KEY = "licence_key", "Licence key"
    MEDIA = "media", "Media"


class LicenceKind(models.TextChoices):
    PER_DEVICE = "per_device", "Per device"
    PER_USER = "per_user", "Per user"
    SITE = "site", "Site"
    SUBSCRIPTION = "subscription", "Subscription"


class VersionState(models.TextChoices):
    """A build procedure's version: written, sent for approval, approved (the build is then
    documented), returned for more work, or replaced by a later approved version."""

    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Waiting for approval"
    APPROVED = "approved", "Approved"
    RETURNED = "returned", "Returned"
    SUPERSEDED = "superseded", "Superseded"


class BuildAction(models.TextChoices):
    CREATE = "create", "Created"
    EDIT = "edit", "Edited"
    SUBMIT = "submit", "Sent for approval"
    APPROVE = "approve", "Approved"
    RETURN = "return", "Returned"
    RETIRE = "retire", "Retired"


class InstallationState(models.TextChoices):
    IN_PROGRESS = "in_progress", "In progress"
    INSTALLED = "installed", "Installed"
    FAILED = "failed", "Failed"


class CriterionResult(models.TextChoices):
    PASSED = "passed", "Passed"
    FAILED = "failed", "Failed"


class ReleaseState(models.TextChoices):
    """FITS's release steps: define, build, release, install; then closed (or cancelled)."""

    DEFINE = "define", "Define"
    BUILD = "build", "Build"
    RELEASE = "release", "Release"
    INSTALL = "install", "Install"
    CLOSED = "closed", "Closed"
    CANCELLED = "cancelled", "Cancelled"


OPEN_RELEASE_STATES = (
    ReleaseState.DEFINE,
    ReleaseState.BUILD,
    ReleaseState.RELEASE,
    ReleaseState.INSTALL,
)


class ReleaseAction(models.TextChoices):
    CREATE = "create", "Defined"
    EDIT = "edit", "Edited"
    BUILD = "build", "Building"
    RELEASE = "release", "Released"
    INSTALL = "install", "Installing"
    CLOSE = "close", "Closed"
    CANCEL = "cancel", "Cancelled"
    REOPEN = "reopen", "Reopened"
    ADD_BUILD = "add_build", "Build added"
    REMOVE_BUILD = "remove_build", "Build removed"
    ADD_CHANGE = "add_change", "RFC added"
    REMOVE_CHANGE = "remove_change", "RFC removed"


class RequestSource(models.TextChoices):
    """Where an install request came from (FITS): one person, or an RFC (infrastructure)."""

    PERSON = "person", "A person"
    CHANGE = "change", "An RFC"


class RequestState(models.TextChoices):
    OPEN = "open", "Open"
    ACCEPTED = "accepted", "Accepted"
    DONE = "done", "Installed"
    DECLINED = "declined", "Declined"


OPEN_REQUEST_STATES = (RequestState.OPEN, RequestState.ACCEPTED)
