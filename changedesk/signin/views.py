"""The school administrator's page of the school's sign-in rules.

Members of the school see it refused (403: only its administrator may), anyone else gets
404, as on the school's other settings pages."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from changedesk.accounts.current import current_user, member_school
from changedesk.accounts.permissions import is_school_admin
from changedesk.lib.views import form_page
from changedesk.signin import provider, services
from changedesk.signin.forms import RulesForm


@require_http_methods(["GET", "POST"])
def school_rules(request: HttpRequest, slug: str) -> HttpResponse:
    school = member_school(request, slug)
    user = current_user(request)
    if not is_school_admin(user, school):
        raise PermissionDenied(f"Only a school administrator of {school.name} may do this.")
    rules, domains = services.rules_of(school)
    initial = {
        "domains": "\n".join(domains),
        "require_sso": rules.require_sso,
        "create_accounts": rules.create_accounts,
    }
    form = RulesForm(request.POST or None, initial=initial)
    return form_page(
        request,
        form,
        "signin/school_rules.html",
        {
            "school": school,
            "provider_name": provider.name() if provider.enabled() else "",
            "sso_available": services.sso_available(),
            # Who could no longer sign in, shown while single sign-on is required.
            "stranded": services.stranded_members(school) if rules.require_sso else [],
        },
        save=lambda: services.update_rules(school, user, **form.values()),
        done="The school's sign-in rules are saved.",
        success_url=reverse("signin:school_rules", args=[school.slug]),
    )
