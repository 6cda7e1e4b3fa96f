"""The iCalendar feeds, for calendar apps, and the page where a user manages their links.

A feed is read without signing in: the secret key in its address is the pass, so an
unknown or revoked key is a 404. On the page, someone else's link is as if it did not
exist (404); the links are made and revoked through `services`.
"""

from __future__ import annotations

import hashlib

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import get_conditional_response
from django.utils.http import quote_etag
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_POST, require_safe

from changedesk.accounts.models import School, User
from changedesk.lib.views import act
from changedesk.schedule import services
from changedesk.schedule.feeds import (
    build_calendar,
    feed_anchor,
    feed_changes,
    feed_rows,
    feed_title,
    usable_token,
)
from changedesk.schedule.forms import FeedTokenForm
from changedesk.schedule.models import FeedToken


@login_not_required
@require_safe
def feed_ics(request: HttpRequest, key: str) -> HttpResponse:
    """The feed itself, for calendar apps: no session, the key in the address is the pass."""
    token = usable_token(key)
    if token is None:
        raise Http404("No such feed.")
    body = build_calendar(token, feed_changes(token, timezone.now()))
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    name = token.school.slug if token.school else "my"
    response["Content-Disposition"] = f'inline; filename="{name}-changes.ics"'
    # Revalidate each time (a revoked link must stop at once), but cheaply: 304 when unchanged.
    response["Cache-Control"] = "private, no-cache"
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["ETag"] = quote_etag(hashlib.sha256(body).hexdigest()[:32])
    return get_conditional_response(request, etag=response["ETag"], response=response) or response


def _signed_in(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


@require_GET
def feed_list(request: HttpRequest) -> HttpResponse:
    rows, unused = feed_rows(_signed_in(request))
    return render(request, "schedule/feeds.html", {"rows": rows, "unused": unused})


@require_POST
def feed_create(request: HttpRequest) -> HttpResponse:
    user = _signed_in(request)
    form = FeedTokenForm(request.POST)
    listing = reverse("schedule:feed_list")
    if not form.is_valid():
        messages.error(request, gettext("That is not a feed you can have."))
        return redirect(listing)
    slug = form.cleaned_data["school"]
    school = get_object_or_404(School.objects.for_user(user), slug=slug) if slug else None
    return act(
        request,
        lambda: services.create_feed_token(user, form.cleaned_data["kind"], school),
        done=lambda token: (
            gettext("The new link to “%(title)s” is ready; any earlier one has stopped working.")
            % {"title": feed_title(token)}
        ),
        then=listing,
        done_then=lambda token: f"{listing}#{feed_anchor(token.school)}",
    )


@require_POST
def feed_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    user = _signed_in(request)
    # Someone else's link is as if it did not exist.
    token = get_object_or_404(FeedToken.objects.select_related("school", "user"), pk=pk, user=user)
    return act(
        request,
        lambda: services.revoke_feed_token(token, user),
        done=gettext("The link to “%(title)s” no longer works.") % {"title": feed_title(token)},
        then="schedule:feed_list",
    )
