"""The states and kinds of a notice, and how often a school hears the FITS summary."""

from django.db import models
from django.utils.translation import gettext_noop


class NoticeStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"
    WITHDRAWN = "withdrawn", "Withdrawn"


class NoticeKind(models.TextChoices):
    # Tells the school about one RFC (FITS step 7).
    CHANGE = "change", "About a change"
    # Written by a communicator, about no RFC in particular.
    GENERAL = "general", "General notice"
    # The regular summary of approvals and rejections, posted by the scheduled job.
    SUMMARY = "summary", "Summary of changes"


class SummaryFrequency(models.TextChoices):
    WEEKLY = "weekly", "Every week"
    MONTHLY = "monthly", "Every month"
    OFF = "off", "Never"


# The summary's frequencies, for the Welsh catalogue (the settings form translates them).
FREQUENCY_LABELS = (
    gettext_noop("Every week"),
    gettext_noop("Every month"),
    gettext_noop("Never"),
)

# The reminder lead times offered on the settings page, in minutes.
LEAD_TIME_CHOICES = [
    (10080, gettext_noop("1 week before")),
    (2880, gettext_noop("2 days before")),
    (1440, gettext_noop("The day before (24 hours)")),
    (240, gettext_noop("4 hours before")),
    (60, gettext_noop("1 hour before")),
    (30, gettext_noop("30 minutes before")),
    (15, gettext_noop("15 minutes before")),
]
DEFAULT_LEAD_MINUTES = (1440, 60)
# The longest lead time a school may choose: two weeks.
MAX_LEAD_MINUTES = 14 * 24 * 60
