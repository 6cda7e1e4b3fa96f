"""The administrators' forms of the sign-in rules: a school's and a trust's."""

from __future__ import annotations

import re
from typing import Any

from django import forms

from changedesk.signin.models import SchoolSignIn, TrustSignIn

DOMAINS_HELP = (
    "One a line (or separated by commas), e.g. school.org.uk. Single sign-on is open to "
    "addresses at these domains exactly, not their subdomains. A domain another school or "
    "trust allows, outside yours, is for an operator to add."
)

PUBLIC_HELP = " Never for a public mail service's addresses (gmail.com, outlook.com...)."


class RulesForm(forms.Form):
    domains = forms.CharField(
        label="Allowed e-mail domains",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=5000,
        help_text=DOMAINS_HELP,
    )
    require_sso = forms.BooleanField(
        label=SchoolSignIn._meta.get_field("require_sso").verbose_name.capitalize(),
        required=False,
        help_text=SchoolSignIn._meta.get_field("require_sso").help_text,
    )
    create_accounts = forms.BooleanField(
        label=SchoolSignIn._meta.get_field("create_accounts").verbose_name.capitalize(),
        required=False,
        help_text=SchoolSignIn._meta.get_field("create_accounts").help_text + PUBLIC_HELP,
    )

    def values(self) -> dict[str, Any]:
        """What `services.update_rules` (or `update_trust_rules`) takes."""
        data = self.cleaned_data
        return {
            "domains": [d for d in re.split(r"[\s,;]+", data["domains"]) if d],
            "require_sso": data["require_sso"],
            "create_accounts": data["create_accounts"],
        }


class TrustRulesForm(RulesForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["domains"].label = "E-mail domains allowed in every school of the trust"
        require = TrustSignIn._meta.get_field("require_sso")
        create = TrustSignIn._meta.get_field("create_accounts")
        self.fields["require_sso"].label = require.verbose_name.capitalize()
        self.fields["require_sso"].help_text = require.help_text
        self.fields["create_accounts"].label = create.verbose_name.capitalize()
        self.fields["create_accounts"].help_text = create.help_text + PUBLIC_HELP
