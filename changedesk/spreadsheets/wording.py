"""The change log imports' messages that are kept: a row's problems, why a file was refused,
why nothing was imported. The worker writes them, so they are kept (and given by the API) in
English, and shown in the reader's language (`shown`, the `said` template filter), as the
review checklist's details are.

Each is written here once, marked for the catalogue (`gettext_noop`), with its values as
`%(name)s`; `say` fills them in. A message is recognised again by its template, its values
read back from where the placeholders stand; one not written here (an older import's, or
`lib.jobs`'s) is shown as it is, or as the catalogue has it.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from django.utils.translation import gettext, gettext_noop

# --- A row's problems (`importer`'s row checks, `trust_importer`'s school). ---
TITLE_NEEDED = gettext_noop("Every change needs a title.")
TOO_LONG = gettext_noop("At most %(most)s characters (this has %(count)s).")
NOT_A_TYPE = gettext_noop("“%(text)s” is not a type; use normal, emergency or standard.")
STANDARD_AND_EMERGENCY = gettext_noop("A change is standard or an emergency, not both.")
NOT_YES_OR_NO = gettext_noop("“%(text)s” is not yes or no.")
NOT_AN_OUTCOME = gettext_noop(
    "“%(text)s” is not an outcome; use succeeded, partially succeeded or failed (backed out)."
)
NOT_A_STATE = gettext_noop("“%(text)s” is not a state; use one of: %(states)s.")
OUTCOME_NOT_KEPT = gettext_noop("An outcome is kept only for a change implemented or closed.")
CLOSED_ONLY = gettext_noop("Only a closed, rejected or withdrawn change has a closing date.")
STANDARD_NOT_OVER = gettext_noop(
    "A standard change is imported only once it is over (implemented, closed, rejected or "
    "withdrawn); import this one as a normal change, or raise it from its template."
)
NOT_A_DATE = gettext_noop(
    "“%(text)s” is not a date; write it as dd/mm/yyyy (with hh:mm if you like) or use a date cell."
)
DATE_OUT_OF_RANGE = gettext_noop("Choose a date from %(year)s to 20 years from today.")
IN_THE_FUTURE = gettext_noop("This is in the future; an imported change has already happened.")
END_BEFORE_START = gettext_noop("The planned end must be after the planned start.")
CLOSED_BEFORE_RAISED = gettext_noop("The change was closed before it was raised.")
MEMBERS_SHARE_NAME = gettext_noop("%(count)s members are called “%(name)s”; give the username.")
NO_SUCH_MEMBER = gettext_noop(
    "No member of %(school)s is “%(name)s” (a username, e-mail address or full name); add "
    "them to the school, or leave the cell empty."
)
IMPORTED_BEFORE = gettext_noop("%(reference)s was imported before.")
SAME_REFERENCE = gettext_noop("Row %(row)s has the same reference.")
NO_SCHOOL_NAMED = gettext_noop("Name the school of %(trust)s this change was made in.")
SCHOOL_NAME_SHARED = gettext_noop(
    "More than one school of %(trust)s is called “%(name)s”; give its slug."
)
NO_SUCH_SCHOOL = gettext_noop(
    "No school of %(trust)s is called “%(name)s”; give one of its schools' names or slugs."
)

# --- Why a file is refused (`reading`, `importer`): on the upload form, or kept. ---
TOO_BIG = gettext_noop(
    "The file is %(size)s MB; the most that can be imported at once is %(most)s MB "
    "(%(rows)s rows). Split it into smaller files."
)
NO_CHANGES = gettext_noop("The file has a header row but no changes under it.")
TOO_MANY_ROWS = gettext_noop("The file has more than %(rows)s rows; split it into smaller files.")
NUL_REFUSED = gettext_noop(
    "The file has NUL characters: save it from your spreadsheet as CSV or XLSX."
)
NOT_TEXT = gettext_noop(
    "The file is neither UTF-8 nor Windows-1252 text (byte %(byte)s cannot be read). Save it "
    "as “CSV UTF-8” or as XLSX and try again."
)
TOO_MANY_CELLS = gettext_noop(
    "Row %(row)s has more than %(most)s cells, more than a spreadsheet can."
)
TOO_FAR_DOWN = gettext_noop(
    "Row %(row)s is further down than %(last)s, the last row that can be read; delete the "
    "empty rows above it and try again."
)
TOO_WIDE = gettext_noop(
    "Row %(row)s has %(columns)s columns; at most %(most)s can be imported. Delete the "
    "columns the change log does not need and try again."
)
CELL_TOO_LONG = gettext_noop(
    "Row %(row)s, column %(column)s has %(count)s characters; a cell may have at most "
    "%(most)s. Shorten it and try again."
)
NOT_CSV = gettext_noop("The file cannot be read as CSV: %(error)s.")
NOT_XLSX = gettext_noop("The file cannot be read as an Excel workbook (XLSX): %(error)s.")
UNPACKS_TOO_BIG = gettext_noop(
    "The workbook unpacks to %(size)s MB; at most %(most)s MB can be read. Save the change "
    "log alone as CSV or XLSX and try again."
)
TOO_COMPRESSED = gettext_noop(
    "The workbook's part %(part)s is compressed more than %(ratio)s to 1, as no spreadsheet "
    "is; it is not read."
)
NO_SHEETS = gettext_noop("The workbook has no sheets.")
EMPTY = gettext_noop("The file is empty.")
NO_HEADER = gettext_noop(
    "No row of the file names the columns of a change log (such as “Title”, “Date raised”, "
    "“Status”). Add a header row and try again."
)

# --- Why nothing was imported (kept as the import's `failure`). ---
NO_LONGER_ADMIN = gettext_noop(
    "The person who uploaded it is no longer an administrator of %(place)s."
)
SCHOOL_CHANGED = gettext_noop(
    "Some rows cannot be imported now (the school's members or RFCs changed since the file "
    "was checked); nothing was imported. Correct the file and upload it again."
)
TRUST_CHANGED = gettext_noop(
    "Some rows cannot be imported now (the trust's schools, their members or their RFCs "
    "changed since the file was checked); nothing was imported. Correct the file and upload "
    "it again."
)
NOT_CONFIRMED = gettext_noop("Not confirmed within %(days)s days, so nothing was imported.")

# --- What the worker is doing (an import's `phase`: the progress bar translates it). ---
PHASES = (
    gettext_noop("Waiting for the worker to check it"),
    gettext_noop("Waiting for the worker to import it"),
    gettext_noop("Checking the rows"),
    gettext_noop("Checking the rows again"),
    gettext_noop("Saving the RFCs"),
)


# Every template above (the phases are looked up as they are, by the progress bar).
KEPT = tuple(
    value for name, value in dict(globals()).items() if name.isupper() and isinstance(value, str)
)
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def say(template: str, **values: Any) -> str:
    """A kept message: one of the templates above, in English, with its `values`."""
    return template % values if values else template


@cache
def _patterns() -> tuple[dict[str, str], list[tuple[re.Pattern[str], str]]]:
    """The templates without values, by their English; those with values, as patterns that
    read the values back."""
    fixed: dict[str, str] = {}
    patterns: list[tuple[re.Pattern[str], str]] = []
    for template in KEPT:
        parts = PLACEHOLDER.split(template)
        if len(parts) == 1:
            fixed[template] = template
            continue
        # Literal text and names alternate: "Row ", "row", " has ...".
        regex = "".join(
            re.escape(part) if index % 2 == 0 else f"(?P<{part}>.*?)"
            for index, part in enumerate(parts)
        )
        patterns.append((re.compile(f"^{regex}$", re.DOTALL), template))
    return fixed, patterns


def shown(message: str) -> str | None:
    """A kept message in the active language; None for one not written here."""
    fixed, patterns = _patterns()
    if message in fixed:
        return gettext(message)
    for pattern, template in patterns:
        match = pattern.match(message)
        if match:
            return gettext(template) % match.groupdict()
    return None


def in_language(message: str) -> str:
    """A kept message in the active language (one not written here: as the catalogue has
    it, else as it is)."""
    found = shown(message)
    return found if found is not None else gettext(message) if message else message
