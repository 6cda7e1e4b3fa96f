"""`{% load communication %}{% rfc_notice change %}`: the RFC page's "Telling the school" panel.

A template tag, so the RFC's view needs no import of this app: the page asks, the app answers.
"""

from __future__ import annotations

from typing import Any

from django import template

from changedesk.changes.models import Change
from changedesk.communication.services import notice_panel

register = template.Library()


@register.inclusion_tag("communication/_rfc_notice.html", takes_context=True)
def rfc_notice(context: template.Context, change: Change) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None) or context.get("user")
    return {"panel": notice_panel(change, user), "csrf_token": context.get("csrf_token")}
