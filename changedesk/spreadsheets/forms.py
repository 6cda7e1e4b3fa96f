"""The forms of the change log import: the file, then which field each column holds."""

from __future__ import annotations

from typing import Any

from django import forms

from changedesk.spreadsheets.importer import FIELD_CHOICES, MAX_BYTES, MAX_ROWS
from changedesk.spreadsheets.models import ChangeImport
from changedesk.spreadsheets.reading import MAX_COLUMNS

IGNORE = ("", "(leave this column out)")


class UploadForm(forms.Form):
    file = forms.FileField(
        label="Change log file",
        help_text=f"CSV or Excel (XLSX), at most {MAX_BYTES // (1024 * 1024)} MB "
        f"({MAX_ROWS:,} rows, {MAX_COLUMNS} columns).",
        widget=forms.ClearableFileInput(
            attrs={
                "accept": ".csv,.xlsx,text/csv,"
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            }
        ),
    )


class MappingForm(forms.Form):
    """A choice of field for each of the file's columns (`column_0`, `column_1`, …),
    starting from the mapping the import guessed or was last given."""

    def __init__(self, *args: Any, job: ChangeImport, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.job = job
        samples = [row["cells"] for row in job.preview[:3]]
        for index, name in enumerate(job.columns):
            seen = [cells[index] for cells in samples if index < len(cells) and cells[index]]
            self.fields[f"column_{index}"] = forms.ChoiceField(
                label=name or f"Column {index + 1} (no name)",
                choices=[IGNORE, *FIELD_CHOICES],
                required=False,
                initial=job.mapping[index] if index < len(job.mapping) else "",
                help_text=("For example: " + "; ".join(s[:40] for s in seen)) if seen else "",
            )

    def mapping(self) -> list[str]:
        return [self.cleaned_data.get(f"column_{i}") or "" for i in range(len(self.job.columns))]
