"""The kinds and states of release management. Values are public API."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class PolicyState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")
    # A published version that a later one replaced: kept, never changed.
    SUPERSEDED = "superseded", _("Superseded")


class SoftwareKind(models.TextChoices):
    INSTALLER = "installer", pgettext_lazy("software kind", "Installer")
    IMAGE = "image", _("Build image")
    LICENCE_KEY = "licence_key", _("Licence key")
    MEDIA = "media", _("Media")


class LicenceKind(models.TextChoices):
    PER_DEVICE = "per_device", _("Per device")
    PER_USER = "per_user", _("Per user")
    SITE = "site", _("Site")
    SUBSCRIPTION = "subscription", _("Subscription")


class VersionState(models.TextChoices):
    """A build procedure's version: written, sent for approval, approved (the build is then
    documented), returned for more work, or replaced by a later approved version."""

    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Waiting for approval")
    APPROVED = "approved", _("Approved")
    RETURNED = "returned", pgettext_lazy("build version", "Returned")
    SUPERSEDED = "superseded", _("Superseded")


class BuildAction(models.TextChoices):
    CREATE = "create", _("Created")
    EDIT = "edit", _("Edited")
    SUBMIT = "submit", _("Sent for approval")
    APPROVE = "approve", _("Approved")
    RETURN = "return", pgettext_lazy("build version", "Returned")
    RETIRE = "retire", _("Retired")


class InstallationState(models.TextChoices):
    IN_PROGRESS = "in_progress", _("In progress")
    INSTALLED = "installed", pgettext_lazy("installation", "Installed")
    FAILED = "failed", pgettext_lazy("installation", "Failed")


class CriterionResult(models.TextChoices):
    PASSED = "passed", _("Passed")
    FAILED = "failed", pgettext_lazy("criterion", "Failed")


class ReleaseState(models.TextChoices):
    """FITS's release steps: define, build, release, install; then closed (or cancelled)."""

    DEFINE = "define", pgettext_lazy("release step", "Define")
    BUILD = "build", pgettext_lazy("release step", "Build")
    RELEASE = "release", pgettext_lazy("release step", "Release")
    INSTALL = "install", pgettext_lazy("release step", "Install")
    CLOSED = "closed", _("Closed")
    CANCELLED = "cancelled", _("Cancelled")


OPEN_RELEASE_STATES = (
    ReleaseState.DEFINE,
    ReleaseState.BUILD,
    ReleaseState.RELEASE,
    ReleaseState.INSTALL,
)


class ReleaseAction(models.TextChoices):
    CREATE = "create", _("Defined")
    EDIT = "edit", _("Edited")
    BUILD = "build", _("Building")
    RELEASE = "release", _("Released")
    INSTALL = "install", _("Installing")
    CLOSE = "close", _("Closed")
    CANCEL = "cancel", _("Cancelled")
    REOPEN = "reopen", _("Reopened")
    ADD_BUILD = "add_build", _("Build added")
    REMOVE_BUILD = "remove_build", _("Build removed")
    ADD_CHANGE = "add_change", _("RFC added")
    REMOVE_CHANGE = "remove_change", _("RFC removed")


class RequestSource(models.TextChoices):
    """Where an install request came from (FITS): one person, or an RFC (infrastructure)."""

    PERSON = "person", _("A person")
    CHANGE = "change", _("An RFC")


class RequestState(models.TextChoices):
    OPEN = "open", pgettext_lazy("install request", "Open")
    ACCEPTED = "accepted", _("Accepted")
    DONE = "done", pgettext_lazy("install request", "Installed")
    DECLINED = "declined", _("Declined")


OPEN_REQUEST_STATES = (RequestState.OPEN, RequestState.ACCEPTED)
