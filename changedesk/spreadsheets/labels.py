"""The import's field labels, listed for the Welsh catalogue.

`columns.FIELDS` keeps its labels in English: a column named like a label is taken to mean
its field, so the labels are also matched against the file's headers. Pages show them in the
reader's language (`{{ label|translated }}`, the mapping form's choices through `gettext`);
listed here with gettext_noop, they reach the catalogue.
"""

from __future__ import annotations

from django.utils.translation import gettext_noop

LABELS = (
    gettext_noop("Reference (kept in the history)"),
    gettext_noop("Title"),
    gettext_noop("Description"),
    gettext_noop("Reason"),
    gettext_noop("Full details"),
    gettext_noop("Impact"),
    gettext_noop("Risk"),
    gettext_noop("Fallback plan"),
    gettext_noop("Type (normal, emergency, standard)"),
    gettext_noop("Emergency (yes or no)"),
    gettext_noop("Why it was an emergency"),
    gettext_noop("State"),
    gettext_noop("Outcome"),
    gettext_noop("Date raised"),
    gettext_noop("Planned start"),
    gettext_noop("Planned end"),
    gettext_noop("Date closed"),
    gettext_noop("Originator (raised by)"),
    gettext_noop("Initial approver"),
    gettext_noop("Peer reviewer"),
    gettext_noop("Final approver"),
    gettext_noop("Implementer"),
    gettext_noop("Notes (kept in the history)"),
    # spreadsheets.models.ImportState: where an import is (shown in the list of recent ones)
    gettext_noop("Uploaded: choose the columns"),
    gettext_noop("Waiting to be checked"),
    gettext_noop("Being checked"),
    gettext_noop("Checked: ready to import"),
    gettext_noop("Being imported"),
    gettext_noop("Imported"),
    gettext_noop("Nothing imported"),
)
