"""The administrators' pages of the sign-in rules: a school's, by its administrator, and a
trust's, by the trust's administrator (or an operator).

A school's members see its page refused (403: only its administrator may), anyone else gets
404, as on the school's other settings pages; likewise a trust's people and the members of
its schools for the trust's page."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods

from changedesk.accounts.current import current_user, member_school, member_trust
from changedesk.accounts.permissions import is_school_admin
from changedesk.lib.views import form_page
from changedesk.signin import provider, services
from changedesk.signin.forms import RulesForm, TrustRulesForm


@require_http_methods(["GET", "POST"])
def school_rules(request: HttpRequest, slug: str) -> HttpResponse:
    school = member_school(request, slug)
    user = current_user(request)
    if not is_school_admin(user, school):
        raise PermissionDenied(
            gettext("Only a school administrator of %(school)s may do this.")
            % {"school": school.name}
        )
    rules = services.effective_rules(school)
    initial = {
        "domains": "\n".join(rules.domains),
        "require_sso": rules.own.require_sso,
        "create_accounts": rules.own.create_accounts,
    }
    form = RulesForm(request.POST or None, initial=initial)
    return form_page(
        request,
        form,
        "signin/school_rules.html",
        {
            "school": school,
            "rules": rules,
            "provider_name": provider.name() if provider.enabled() else "",
            "sso_available": services.sso_available(),
            # Who could no longer sign in, shown while single sign-on is required.
            "stranded": services.stranded_members(school) if rules.require_sso else [],
        },
        save=lambda: services.update_rules(school, user, **form.values()),
        done=gettext("The school's sign-in rules are saved."),
        success_url=reverse("signin:school_rules", args=[school.slug]),
    )


@require_http_methods(["GET", "POST"])
def trust_rules(request: HttpRequest, slug: str) -> HttpResponse:
    trust, _ = member_trust(request, slug, admin=True, schools_too=True)
    user = current_user(request)
    rules, domains = services.trust_rules_of(trust)
    initial = {
        "domains": "\n".join(domains),
        "require_sso": rules.require_sso,
        "create_accounts": rules.create_accounts,
    }
    form = TrustRulesForm(request.POST or None, initial=initial)
    return form_page(
        request,
        form,
        "signin/trust_rules.html",
        {
            "trust": trust,
            "provider_name": provider.name() if provider.enabled() else "",
            "sso_available": services.sso_available(),
            "stranded": services.stranded_in_trust(trust) if rules.require_sso else [],
            "stranded_shown": services.STRANDED_SHOWN,
        },
        save=lambda: services.update_trust_rules(trust, user, **form.values()),
        done=gettext("The trust's sign-in rules are saved."),
        success_url=reverse("signin:trust_rules", args=[trust.slug]),
    )
