"""Sections that apps above `configuration` add to an item's page, without `configuration`
importing them (it is below them).

An app registers a panel from its `AppConfig.ready()`:

    from changedesk.configuration import panels

    panels.register(
        "releases/builds/_item_panel.html",   # the section's template
        running_build_context,                # (request, item) -> its context, or None
    )

The item page (`configuration.views.item_detail`) renders each registered panel in the
order registered, after the item's own fields: the template with the function's context
(plus `item`). A function that returns None leaves its section out for that item (nothing
to say). Each template is a whole section (`<section>` with its own heading). A panel must
not raise for an item of a school the person is a member of; it costs its own queries, so
keep it to one or two.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

from changedesk.configuration.models import ConfigurationItem

PanelContext = Callable[[HttpRequest, ConfigurationItem], dict[str, Any] | None]


@dataclass(frozen=True)
class Panel:
    template: str
    context: PanelContext


_PANELS: list[Panel] = []


def register(template: str, context: PanelContext) -> None:
    """Add a section to every item's page (once: registering the same template again
    replaces it, so a reloaded app does not show it twice)."""
    _PANELS[:] = [p for p in _PANELS if p.template != template]
    _PANELS.append(Panel(template, context))


def unregister(template: str) -> None:
    _PANELS[:] = [p for p in _PANELS if p.template != template]


def registered() -> list[Panel]:
    return list(_PANELS)


def render_panels(request: HttpRequest, item: ConfigurationItem) -> list[SafeString]:
    """The registered sections of `item`'s page, rendered, in order."""
    shown: list[SafeString] = []
    for panel in _PANELS:
        context = panel.context(request, item)
        if context is None:
            continue
        html = render_to_string(panel.template, {"item": item, **context}, request=request)
        shown.append(mark_safe(html))  # noqa: S308 - a template's output, escaped by it
    return shown
