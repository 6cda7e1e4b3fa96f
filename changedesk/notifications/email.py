"""Rendering outbox messages: one subject / text / HTML template triplet per kind of mail.

The templates live under `templates/notifications/email/<name>/`. Their context is the
JSON the outbox stored when the news was made (see `changes.notify._context`), plus
absolute links and the planned times written out in the school's time zone.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import dateformat, translation
from django.utils.translation import gettext

from changedesk.accounts.languages import language_for
from changedesk.accounts.templatetags.languages import languages_of_notices
from changedesk.notifications.models import OutboxMessage

TEMPLATE_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
# Tasks that are decisions get a "Decide now" button; the others open the RFC.
DECISION_TASKS = ("decide", "review", "ratify")
SUBJECT_MAX = 200
# The context's labels written in English by the app that queued the mail: the RFC's state,
# the step just taken and the task asked for.
TRANSLATED_LABELS = ("state", "action", "task")


class UnknownTemplate(ValueError):
    pass


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def render(template: str, context: Mapping[str, Any], tz_name: str | None = None) -> RenderedEmail:
    """Render the mail `template` with the stored `context`."""
    if not TEMPLATE_NAME_RE.match(template):
        raise UnknownTemplate(f"Not a mail template name: {template!r}")
    full = email_context(context, tz_name)
    base = f"notifications/email/{template}"
    subject = " ".join(render_to_string(f"{base}/subject.txt", full).split())
    if len(subject) > SUBJECT_MAX:
        subject = subject[: SUBJECT_MAX - 1].rstrip() + "…"
    return RenderedEmail(
        subject=subject,
        text=_tidy(render_to_string(f"{base}/body.txt", full)),
        html=render_to_string(f"{base}/body.html", full),
    )


def email_context(context: Mapping[str, Any], tz_name: str | None = None) -> dict[str, Any]:
    """The stored context plus what every template needs: absolute links, readable times."""
    full = dict(context)
    site = settings.SITE_URL.rstrip("/")
    path = str(context.get("path") or "/")
    decide_path = str(context.get("decide_path") or path)
    task = str(context.get("task") or "")
    full["site_url"] = site
    full["change_url"] = site + path
    full["decide_url"] = site + decide_path
    language = translation.get_language()
    if language != settings.LANGUAGE_CODE and context.get("decide_path"):
        # The decision page opens without signing in: the link says the mail's language.
        joiner = "&" if "?" in decide_path else "?"
        full["decide_url"] += f"{joiner}{urlencode({'lang': language})}"
    full["is_decision"] = task.startswith(DECISION_TASKS)
    # Stored in English when queued; the mail speaks its reader's language (lib/labels.py).
    for label in TRANSLATED_LABELS:
        if isinstance(full.get(label), str) and full[label]:
            full[label] = gettext(full[label])
    # An invitation's roles, stored as lower-case English labels ("initial approver").
    if isinstance(full.get("roles"), list):
        full["roles"] = [_lower_label(str(role)) for role in full["roles"]]
    full["planned"] = planned_window(
        str(context.get("planned_start") or ""), str(context.get("planned_end") or ""), tz_name
    )
    return full


def _lower_label(label: str) -> str:
    """A lower-case label (a role) in the active language, as the catalogue holds it
    capitalised: "initial approver" → "cymeradwywr cychwynnol"."""
    capital = label[:1].upper() + label[1:]
    translated = gettext(capital)
    return label if translated == capital else translated.lower()


def planned_window(start: str, end: str, tz_name: str | None = None) -> str:
    """ "Friday 14 March 2025, 18:00 to 19:00" in the school's time zone, or ""."""
    if not start:
        return ""
    try:
        zone = ZoneInfo(tz_name or settings.TIME_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo(settings.TIME_ZONE)
    try:
        begins = datetime.fromisoformat(start).astimezone(zone)
        ends = datetime.fromisoformat(end).astimezone(zone) if end else None
    except ValueError:
        return start
    # Day and month names in the active language (the mail's).
    text = dateformat.format(begins, "l j F Y, H:i")
    if ends is None:
        return text
    end = dateformat.format(ends, "H:i" if ends.date() == begins.date() else "l j F Y, H:i")
    return gettext("%(start)s to %(end)s") % {"start": text, "end": end}


def build_message(message: OutboxMessage) -> EmailMultiAlternatives:
    """The e-mail for an outbox row: a text part and an HTML alternative, in the language
    of its recipient (theirs, else the school's); a staff list's, in the school's notice
    languages (Welsh first, then English, where it asks for bilingual notices)."""
    school = message.school if message.school_id else None
    tz_name = school.timezone if school else None
    context = dict(message.context)
    if school is not None:
        context["notice_languages"] = languages_of_notices(school)
    with translation.override(language_for(message.recipient, school)):
        rendered = render(message.template, context, tz_name)
    mail = EmailMultiAlternatives(
        subject=rendered.subject,
        body=rendered.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[message.to_address],
        headers={"Message-ID": message_id(message)},
    )
    mail.attach_alternative(rendered.html, "text/html")
    return mail


def message_id(message: OutboxMessage) -> str:
    """A Message-ID fixed by the outbox key.

    Should a worker die between the mail server accepting a message and the row being
    marked sent, the retry carries the same Message-ID, so mail clients that drop
    duplicates show it once.
    """
    digest = hashlib.sha256(message.key.encode()).hexdigest()[:32]
    host = urlsplit(settings.SITE_URL).hostname or "changedesk.invalid"
    return f"<{digest}.{message.pk}@{host}>"


def _tidy(text: str) -> str:
    """Template tags leave blank lines behind; keep at most one between paragraphs."""
    lines = [line.rstrip() for line in text.strip().splitlines()]
    tidy: list[str] = []
    for line in lines:
        if not line and tidy and not tidy[-1]:
            continue
        tidy.append(line)
    return "\n".join(tidy) + "\n"
