"""The school administrator's form of the school's sign-in rules."""

from __future__ import annotations

import re
from typing import Any

from django import forms

from changedesk.signin.models import SchoolSignIn


class RulesForm(forms.Form):
    domains = forms.CharField(
        label="Allowed e-mail domains",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=5000,
        help_text=(
            "One a line (or separated by commas), e.g. school.org.uk. Single sign-on is "
            "open to addresses at these domains exactly, not their subdomains."
        ),
    )
    require_sso = forms.BooleanField(
        label=SchoolSignIn._meta.get_field("require_sso").verbose_name.capitalize(),
        required=False,
        help_text=SchoolSignIn._meta.get_field("require_sso").help_text,
    )
    create_accounts = forms.BooleanField(
        label=SchoolSignIn._meta.get_field("create_accounts").verbose_name.capitalize(),
        required=False,
        help_text=SchoolSignIn._meta.get_field("create_accounts").help_text,
    )

    def values(self) -> dict[str, Any]:
        """What `services.update_rules` takes."""
        data = self.cleaned_data
        return {
            "domains": [d for d in re.split(r"[\s,;]+", data["domains"]) if d],
            "require_sso": data["require_sso"],
            "create_accounts": data["create_accounts"],
        }
