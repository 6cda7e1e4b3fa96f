"""The words of a period report as a page shows them, in the reader's language: the groups'
and figures' labels and the figures' notes, looked up by key. The report's dict itself (the
API's answer, and what the archive freezes) keeps its English labels; only pages translate."""

from __future__ import annotations

import re
from typing import Any

from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext_lazy as _

GROUP_LABELS = {
    "change": _("Change management"),
    "release": _("Release management"),
    "patch": _("Patch management"),
}

FIGURE_LABELS = {
    "raised": _("RFCs raised"),
    "emergencies": _("Emergency changes raised"),
    "standard": _("Standard changes raised"),
    "approved": _("RFCs approved"),
    "returned": _("RFCs returned for amendment"),
    "rejected": _("RFCs rejected"),
    "withdrawn": _("RFCs withdrawn"),
    "succeeded": _("Implemented successfully"),
    "partly": _("Implemented partly"),
    "failed": _("Failed and backed out"),
    "caused_incidents": _("Changes that caused incidents"),
    "told": _("Approved changes whose users were told before the start"),
    "not_told": _("Approved changes whose users were not told before the start"),
    "stage_awaiting_initial_approval": _("Median hours awaiting initial approval"),
    "stage_planning": _("Median hours planning"),
    "stage_awaiting_peer_review": _("Median hours awaiting peer review"),
    "stage_awaiting_final_approval": _("Median hours awaiting final approval"),
    "stage_approved": _("Median hours approved to implemented"),
    "stage_implemented": _("Median hours implemented to closed"),
    "release_installed": _("Builds installed"),
    "release_created": _("Builds created (versions approved)"),
    "release_documented": _("Builds documented in total"),
    "release_services": _("Services in the school"),
    "release_undocumented": _("Services still to document"),
    "patches_released": _("Patches released (that apply)"),
    "patches_deployed": _("Patches deployed"),
    "patches_on_time": _("Patches deployed on time"),
    "patches_overdue": _("Patches overdue"),
    "patches_percent_on_time": _("Share deployed on time"),
}

_PLANNED = re.compile(r"^Of (\d+) approved changes planned to start in the period\.$")
_NOTES = {
    "No RFC left this stage in the period.": _("No RFC left this stage in the period."),
    "No patch released in the period was due or deployed yet.": _(
        "No patch released in the period was due or deployed yet."
    ),
}


def group_label(group: dict[str, Any]) -> str:
    """A group's label in the reader's language (a label not known here: as stored)."""
    return str(GROUP_LABELS.get(group.get("key", ""), group.get("label", "")))


def figure_label(figure: dict[str, Any]) -> str:
    """A figure's label in the reader's language, by its key, else by its English label (a
    label not known here: as stored)."""
    from changedesk.reports.figures import LABELS

    label = figure.get("label", "")
    key = figure.get("key") or next((k for k, v in LABELS.items() if v == label), "")
    return str(FIGURE_LABELS.get(key, label))


def figure_note(note: str) -> str:
    """A figure's note (figures._note's words) in the reader's language."""
    if not note:
        return ""
    planned = _PLANNED.match(note)
    if planned:
        count = int(planned.group(1))
        return ngettext(
            "Of %(count)d approved change planned to start in the period.",
            "Of %(count)d approved changes planned to start in the period.",
            count,
        ) % {"count": count}
    known = _NOTES.get(note)
    return str(known) if known is not None else note


def english_lang() -> str:
    """`lang` for text only written in English (a service's message), when the page is not:
    "en-GB", else ""."""
    language = (get_language() or "en").lower()
    return "" if language.startswith("en") else "en-GB"
