"""Configuration items: the services, servers, devices and software a school's ICT is made
of (FITS's configuration records). A catalogue below the RFC: `changes.ChangeItem` links
an RFC to the items it touches (`item.change_links`)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from changedesk.accounts.models import School, SchoolScopedQuerySet, User


class ItemKind(models.TextChoices):
    SERVICE = "service", "Service"
    SERVER = "server", "Server"
    NETWORK_DEVICE = "network_device", "Network device"
    SOFTWARE = "software", "Software"
    DEVICE_GROUP = "device_group", "Device group"
    OTHER = "other", "Other"


class ConfigurationItemQuerySet(SchoolScopedQuerySet["ConfigurationItem"]):
    """Items: `visible_to(user)` (the scoping rule) and `active()`."""

    def active(self) -> ConfigurationItemQuerySet:
        return self.filter(is_active=True)


class ConfigurationItem(models.Model):
    """One thing a change may touch, e.g. "ICT suite 2, 30 PCs" or "the MIS server"."""

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="items")
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=32, choices=ItemKind.choices, default=ItemKind.OTHER)
    identifier = models.CharField(
        "identifier or asset tag", max_length=100, blank=True, help_text="Unique in the school."
    )
    location = models.CharField(max_length=200, blank=True)
    owner = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    users_affected = models.PositiveIntegerField(
        "users who depend on it", default=0, help_text="Roughly how many people use it."
    )
    notes = models.TextField(blank=True)
    is_active = models.BooleanField(default=True, help_text="Retired items stay in history.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ConfigurationItemQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["school", "identifier"],
                condition=~Q(identifier=""),
                name="item_unique_identifier",
            ),
        ]
        indexes = [models.Index(fields=["school", "kind", "name"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.identifier})" if self.identifier else self.name

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("configuration:detail", args=[self.pk])

    @property
    def key(self) -> str:
        """How history and imports name the item: its identifier, or its name without one."""
        return self.identifier or self.name
