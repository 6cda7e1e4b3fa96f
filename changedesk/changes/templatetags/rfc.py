"""`{% load rfc %}`: what the apps add to the RFC's pages through `changes.extensions`.

{% rfc_panels "main" %}   the panels registered for that place, in order
"""

from __future__ import annotations

from typing import Any

from django import template
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

from changedesk.changes import extensions
from changedesk.changes.choices import Outcome

register = template.Library()


@register.simple_tag(takes_context=True)
def rfc_panels(context: template.Context, place: str) -> SafeString:
    request = context.get("request")
    change = context.get("change")
    if change is None or request is None:
        return mark_safe("")
    parts = []
    for panel in extensions.panels(place):
        panel_context: dict[str, Any] | None = panel.context(request, change)
        if panel_context is None:
            continue
        parts.append(
            render_to_string(
                panel.template,
                {"change": change, "csrf_token": context.get("csrf_token"), **panel_context},
                request=request,
            )
        )
    return mark_safe("".join(parts))  # noqa: S308 (each part is an auto-escaped template)


@register.simple_tag
def column_value(column: extensions.Column, change: Any) -> str:
    return column.value(change)


@register.filter
def outcome_label(value: str) -> str:
    """An outcome in words ("Failed, fallback plan carried out"), not its API name."""
    return str(dict(Outcome.choices).get(value, value))
