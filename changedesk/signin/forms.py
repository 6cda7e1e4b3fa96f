"""The administrators' forms of the sign-in rules: a school's and a trust's."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

DOMAINS_HELP = _(
    "One a line (or separated by commas), e.g. school.org.uk. Single sign-on is open to "
    "addresses at these domains exactly, not their subdomains. A domain another school or "
    "trust allows, outside yours, is for an operator to add."
)

# The models' words (signin.models), here again to be translated; the accounts' help adds
# " Never for a public mail service's addresses (gmail.com, outlook.com...)."


class RulesForm(forms.Form):
    domains = forms.CharField(
        label=_("Allowed e-mail domains"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=5000,
        help_text=DOMAINS_HELP,
    )
    require_sso = forms.BooleanField(
        label=_("Require single sign-on for members"),
        required=False,
        help_text=_(
            "Members sign in with single sign-on only: their passwords are refused "
            "(an operator's superuser account excepted)."
        ),
    )
    create_accounts = forms.BooleanField(
        label=_("Create accounts for new people from an allowed domain"),
        required=False,
        help_text=_(
            "Someone from an allowed domain who signs in with single sign-on and has no "
            "account gets one, as a member with no roles until an administrator gives them "
            "some. Never for a public mail service's addresses (gmail.com, outlook.com...)."
        ),
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
        self.fields["domains"].label = _("E-mail domains allowed in every school of the trust")
        self.fields["require_sso"].label = _("Require single sign-on in every school of the trust")
        self.fields["require_sso"].help_text = _(
            "Every member of the trust's schools, and the trust's own people, sign in with "
            "single sign-on only (an operator's superuser account excepted). A school "
            "cannot switch this off for itself."
        )
        self.fields["create_accounts"].label = _(
            "Create accounts for new people from the trust's domains"
        )
        self.fields["create_accounts"].help_text = _(
            "Someone from one of the trust's domains who signs in with single sign-on and "
            "has no account gets one, as a member with no roles of each of the trust's "
            "schools, until an administrator gives them some. Never for a public mail "
            "service's addresses (gmail.com, outlook.com...)."
        )
