"""The forms of the change log import: the file, then which field each column holds."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.text import format_lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from changedesk.spreadsheets.columns import FIELD_CHOICES
from changedesk.spreadsheets.models import ChangeLogImport
from changedesk.spreadsheets.reading import MAX_COLUMNS
from changedesk.spreadsheets.row_checks import MAX_BYTES, MAX_ROWS

IGNORE = ("", _("(leave this column out)"))


class UploadForm(forms.Form):
    file = forms.FileField(
        label=_("Change log file"),
        help_text=format_lazy(
            _("CSV or Excel (XLSX), at most {mb} MB ({rows} rows, {columns} columns)."),
            mb=MAX_BYTES // (1024 * 1024),
            rows=f"{MAX_ROWS:,}",
            columns=MAX_COLUMNS,
        ),
        widget=forms.ClearableFileInput(
            attrs={
                "accept": ".csv,.xlsx,text/csv,"
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            }
        ),
    )


class MappingForm(forms.Form):
    """A choice of field for each of the file's columns (`column_0`, `column_1`, …),
    starting from the mapping the import guessed or was last given; a trust's import offers
    its `choices` (with the school's column)."""

    def __init__(
        self,
        *args: Any,
        job: ChangeLogImport,
        choices: list[tuple[str, str]] = FIELD_CHOICES,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.job = job
        samples = [row["cells"] for row in job.preview[:3]]
        for index, name in enumerate(job.columns):
            seen = [cells[index] for cells in samples if index < len(cells) and cells[index]]
            self.fields[f"column_{index}"] = forms.ChoiceField(
                label=name or gettext("Column %(number)s (no name)") % {"number": index + 1},
                choices=[IGNORE, *((key, gettext(label)) for key, label in choices)],
                required=False,
                initial=job.mapping[index] if index < len(job.mapping) else "",
                help_text=(
                    gettext("For example: %(values)s") % {"values": "; ".join(s[:40] for s in seen)}
                )
                if seen
                else "",
            )

    def mapping(self) -> list[str]:
        return [self.cleaned_data.get(f"column_{i}") or "" for i in range(len(self.job.columns))]
