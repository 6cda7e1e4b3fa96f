"""The pilot review's section labels (`services.SECTIONS`) and the overview's title (guidance),
listed for the Welsh catalogue.

`services` keeps them in English (the API gives them as they are); pages show them in the
reader's language (`{{ label|translated }}`, the answer form's choices through `gettext`).
"""

from __future__ import annotations

from django.utils.translation import gettext_noop

LABELS = (
    gettext_noop("Name"),
    gettext_noop("Brief description"),
    gettext_noop("Reason for the change"),
    gettext_noop("Full details (the steps)"),
    gettext_noop("Impact on ICT services and users"),
    gettext_noop("Risk of failure and its impact"),
    gettext_noop("Fallback plan"),
    gettext_noop("Date and time"),
    gettext_noop("Outcome"),
    # guidance.guide_title: the overview's title (the guides' titles are the roles' labels)
    gettext_noop("Overview of the three processes"),
)
