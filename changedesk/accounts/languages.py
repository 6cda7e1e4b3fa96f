"""Which language changedesk speaks to a person: theirs, else their school's, else the site's.

A person's own choice (User.language) wins; blank, they get the default of the school in
question (an e-mail about an RFC uses that RFC's school), or, where no one school is in
question (a page), the school they joined first; with no school, settings.LANGUAGE_CODE.

The pages read that school default from the session, where it is put when the person signs
in and looked up again every SCHOOL_LANGUAGE_SECONDS, so that a page costs no query for it:
a school that changes its default reaches its members' open sessions within that time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation

from changedesk.accounts.models import Membership, School

SESSION_KEY = "changedesk_school_language"
SCHOOL_LANGUAGE_SECONDS = 15 * 60


def language_for(user: Any, school: School | None = None) -> str:
    """The language code to use for `user` (anyone not signed in, or no one: a mail to a
    school's staff list) about `school`, if one is in question."""
    signed_in = user is not None and getattr(user, "is_authenticated", False)
    if signed_in and user.language:
        return str(user.language)
    if school is not None:
        return school.language
    if not signed_in:
        return str(settings.LANGUAGE_CODE)
    return school_default(user)


def school_default(user: Any) -> str:
    """The default language of the school `user` joined first (LANGUAGE_CODE with none)."""
    joined_first = (
        Membership.objects.filter(user=user)
        .order_by("created_at", "pk")
        .values_list("school__language", flat=True)
        .first()
    )
    return joined_first or str(settings.LANGUAGE_CODE)


def remember_school_default(request: HttpRequest, user: Any) -> str:
    """Look up `user`'s school default and keep it in the session (see the docstring)."""
    language = school_default(user)
    request.session[SESSION_KEY] = [user.pk, language, time.time()]
    return language


def remembered_school_default(request: HttpRequest, user: Any) -> str:
    kept = request.session.get(SESSION_KEY)
    if (
        isinstance(kept, list)
        and len(kept) == 3
        and kept[0] == user.pk
        and isinstance(kept[1], str)
        and isinstance(kept[2], int | float)
        and time.time() - kept[2] < SCHOOL_LANGUAGE_SECONDS
    ):
        return kept[1]
    return remember_school_default(request, user)


def on_sign_in(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """user_logged_in: the school default goes into the new session with the sign-in."""
    if request is not None and hasattr(request, "session") and not user.language:
        remember_school_default(request, user)


class PersonLanguageMiddleware:
    """Activates the signed-in person's language (their own, else their school's default,
    else LANGUAGE_CODE). It comes after Django's LocaleMiddleware, which still chooses for
    someone not signed in (their browser's Accept-Language, else LANGUAGE_CODE) unless the
    link says a language (`?lang=cy`), and whose response half then sends the
    Content-Language of what is active here."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            language = user.language or remembered_school_default(request, user)
        else:
            # A link that says its language (a decision link in a Welsh e-mail: ?lang=cy).
            language = request.GET.get("lang", "")
            if language not in dict(settings.LANGUAGES):
                return self.get_response(request)
            translation.activate(language)
            request.LANGUAGE_CODE = translation.get_language()
            response = self.get_response(request)
            # The pages after it (the decision's own, once posted) keep to it, as Django's
            # set_language view would: LocaleMiddleware reads this cookie.
            response.set_cookie(
                settings.LANGUAGE_COOKIE_NAME,
                language,
                max_age=settings.LANGUAGE_COOKIE_AGE,
                path=settings.LANGUAGE_COOKIE_PATH,
                domain=settings.LANGUAGE_COOKIE_DOMAIN,
                secure=settings.LANGUAGE_COOKIE_SECURE,
                httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
                samesite=settings.LANGUAGE_COOKIE_SAMESITE,
            )
            return response
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
        return self.get_response(request)
