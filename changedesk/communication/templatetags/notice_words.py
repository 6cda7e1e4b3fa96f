"""`{{ lead_minutes|lead_words }}`: a reminder's lead time in the active language ("1 awr")."""

from __future__ import annotations

from typing import Any

from django import template

from changedesk.communication.plain import plain_lead

register = template.Library()


@register.filter
def lead_words(minutes: Any) -> str:
    """ "" for anything not a whole number of minutes (a mail queued before it was stored)."""
    if isinstance(minutes, bool) or not isinstance(minutes, int) or minutes <= 0:
        return ""
    return plain_lead(minutes)
