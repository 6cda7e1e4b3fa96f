"""Which field of an RFC each column of a change log holds: the fields a column may be
mapped to, the header names taken to mean each (`known`), the mapping guessed for a file's
header (`guess_mapping`) and the checks of a mapping chosen (`bad_mapping`). A trust's
import adds its school's column (`trust_importer.FIELDS`).

The labels stay English here (a header named like a label is taken to mean its field);
`labels` lists them for the catalogue, and the pages translate them as they show them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from django.utils.translation import gettext

# The fields a column may be mapped to: each one's label, and the header names (as `normal`
# writes them) that are taken to mean it.
FIELDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "reference": (
        "Reference (kept in the history)",
        ("reference", "ref", "rfc", "rfc number", "rfc no", "rfc ref", "change number",
         "change no", "change ref", "change id", "id", "number", "no"),
    ),
    "title": (
        "Title",
        ("title", "name", "change", "summary", "subject", "change title", "change name",
         "short description"),
    ),
    "description": (
        "Description",
        ("description", "brief description", "change description", "description of change"),
    ),
    "reason": (
        "Reason",
        ("reason", "reason for change", "reason for the change", "justification", "why",
         "business reason", "business justification"),
    ),
    "details": (
        "Full details",
        ("details", "full details", "full details of the change", "implementation plan",
         "plan", "steps"),
    ),
    "impact": (
        "Impact",
        ("impact", "impact on services", "impact on ict services and users", "service impact"),
    ),
    "risk": ("Risk", ("risk", "risks", "risk assessment", "risk level", "risk of failure")),
    "fallback_plan": (
        "Fallback plan",
        ("fallback plan", "fallback", "backout plan", "back out plan", "backout",
         "rollback plan", "roll back plan", "rollback", "remediation plan"),
    ),
    "type": ("Type (normal, emergency, standard)", ("type", "change type", "kind")),
    "emergency": ("Emergency (yes or no)", ("emergency", "emergency change", "urgent")),
    "emergency_justification": (
        "Why it was an emergency",
        ("emergency justification", "emergency reason", "why emergency"),
    ),
    "state": ("State", ("state", "status", "stage", "current status")),
    "outcome": ("Outcome", ("outcome", "result", "success", "was it successful")),
    "raised": (
        "Date raised",
        ("raised", "date raised", "raised on", "date", "date logged", "logged", "logged on",
         "created", "date created", "created on", "requested", "date requested",
         "request date", "submitted", "date submitted", "opened", "date opened"),
    ),
    "planned_start": (
        "Planned start",
        ("planned start", "start", "start date", "planned start date", "scheduled",
         "scheduled date", "scheduled start", "implementation date", "date of change",
         "change date", "planned date", "planned for", "window start", "start time"),
    ),
    "planned_end": (
        "Planned end",
        ("planned end", "end", "end date", "planned end date", "scheduled end", "finish",
         "window end", "end time"),
    ),
    "closed": (
        "Date closed",
        ("closed", "date closed", "closed on", "close date", "completed", "date completed",
         "completion date", "completed on"),
    ),
    "originator": (
        "Originator (raised by)",
        ("originator", "raised by", "requested by", "requester", "requestor", "submitted by",
         "logged by", "owner"),
    ),
    "initial_approver": ("Initial approver", ("initial approver", "first approver")),
    "peer_reviewer": ("Peer reviewer", ("peer reviewer", "reviewer", "reviewed by")),
    "final_approver": (
        "Final approver",
        ("final approver", "approver", "approved by", "authorised by", "authorized by"),
    ),
    "implementer": (
        "Implementer",
        ("implementer", "implemented by", "engineer", "assigned to", "technician",
         "carried out by"),
    ),
    "notes": ("Notes (kept in the history)", ("notes", "note", "comments", "comment", "remarks")),
}  # fmt: skip
FIELD_CHOICES = [(name, label) for name, (label, _) in FIELDS.items()]


def normal(name: str) -> str:
    """A header's name as it is compared: lower case, words only, "(dd/mm/yyyy)" dropped."""
    name = re.sub(r"\([^)]*\)", " ", name.lower())
    return " ".join(re.sub(r"[^\w]+", " ", name).split())


SYNONYMS: dict[str, str] = {
    **{normal(name): key for key, (_, names) in FIELDS.items() for name in names},
    **{normal(label): key for key, (label, _) in FIELDS.items()},
    **{normal(key.replace("_", " ")): key for key in FIELDS},
}


def known(name: str) -> str | None:
    """The field a header's name means, or None."""
    return SYNONYMS.get(normal(name)) if name else None


def guess_mapping(
    names: list[str],
    saved: dict[str, str],
    fields: Mapping[str, Any] = FIELDS,
    know: Callable[[str], str | None] = known,
) -> list[str]:
    """Each column's field: what the school mapped its name to last time, else what its name
    means; "" for a column left out. No field is taken twice (the first column keeps it).
    (The trust's import passes its own `fields` and `know`, with the school's column.)"""
    mapping: list[str] = []
    for name in names:
        key = normal(name)
        guess = saved.get(key, know(name) or "") if key else ""
        if guess not in fields or guess in mapping:
            guess = ""
        mapping.append(guess)
    return mapping


def bad_mapping(
    mapping: list[str], columns: int, fields: Mapping[str, tuple[str, Any]] = FIELDS
) -> dict[str, str]:
    if len(mapping) != columns:
        return {
            "mapping": gettext("Give a field (or nothing) for each of the %(columns)s columns.")
            % {"columns": columns}
        }
    unknown = [name for name in mapping if name and name not in fields]
    if unknown:
        return {"mapping": gettext("Unknown field: %(field)s.") % {"field": unknown[0][:40]}}
    taken = sorted({name for name in mapping if name and mapping.count(name) > 1})
    if taken:
        label = gettext(fields[taken[0]][0]).lower()
        return {
            "mapping": gettext("More than one column is mapped to %(field)s.") % {"field": label}
        }
    if "title" not in mapping:
        return {"mapping": gettext("Choose the column that holds each change's title.")}
    return {}
