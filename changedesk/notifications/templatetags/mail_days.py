"""Days the apps stored in a mail's context already written out in English ("14 March
2025", `strftime("%-d %B %Y")`), shown in the mail's language when it is rendered."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import template
from django.utils import dateformat

register = template.Library()


@register.filter
def day_in_language(value: Any) -> Any:
    """ "14 March 2025" → "14 Mawrth 2025" in Welsh; anything else as it was."""
    if not isinstance(value, str) or not value:
        return value
    try:
        day = datetime.strptime(value.strip(), "%d %B %Y").date()
    except ValueError:
        return value
    return dateformat.format(day, "j F Y")
