"""The reports app's forms: how often a school reports (the settings page). The rules are
`services.set_frequency`'s."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from changedesk.reports.models import Period


class FrequencyForm(forms.Form):
    frequency = forms.ChoiceField(
        label=_("How often the school reports"),
        choices=Period.choices,
        widget=forms.RadioSelect,
        help_text=_(
            "FITS asks for the figures at the same frequency every time: weekly or monthly."
        ),
    )
