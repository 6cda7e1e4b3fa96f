"""Notices in the school's language, and bilingual where it asks (Welsh first, then
English): the board, its print, the notice page and the staff list's e-mails."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from changedesk.accounts.choices import Language
from changedesk.communication.services import create_notice, publish_notice, settings_for
from changedesk.notifications.email import build_message
from changedesk.notifications.models import OutboxMessage

from .conftest import STAFF_LIST

pytestmark = pytest.mark.django_db


@pytest.fixture
def notice(school, carol, staff_list):
    staff_list.summary_frequency = "off"
    staff_list.save()
    start = timezone.now() + timedelta(days=3)
    notice = create_notice(
        school,
        carol,
        {
            "title": "Ystafell TGCh 2 ar gau / ICT suite 2 closed",
            "what": "Ceblau newydd. / New cabling.",
            "when_text": "Dydd Llun / Monday",
            "what_to_do": "Defnyddiwch ystafell 1. / Use suite 1.",
            "starts_at": start,
            "ends_at": start + timedelta(hours=2),
        },
    )
    return publish_notice(notice.pk, carol)


def bilingual(school):
    school.bilingual_notices = True
    school.save(update_fields=["bilingual_notices"])
    return school


def board(client, school, print_=False):
    key = settings_for(school).board_key
    name = "communication:board_print" if print_ else "communication:board"
    response = client.get(reverse(name, args=[key]))
    assert response.status_code == 200
    return response.content.decode()


def test_a_bilingual_board_puts_welsh_first_then_english(client, school, notice):
    html = board(client, bilingual(school))
    welsh = '<span lang="cy">Pryd</span> / <span lang="en-GB">When</span>'
    assert welsh in html
    assert '<span lang="cy">Beth i\'w wneud</span> / <span lang="en-GB">What to do</span>' in html
    assert '<span lang="cy">Ar y gweill</span> / <span lang="en-GB">Coming up</span>' in html
    assert (
        '<span lang="cy">Hysbysiadau i staff Greenfield Primary</span> / '
        '<span lang="en-GB">Notices for staff at Greenfield Primary</span>'
    ) in html
    # The notice's own words, as the communicator wrote them in both languages.
    assert "Ceblau newydd. / New cabling." in html


def test_a_bilingual_print_puts_welsh_first_then_english(client, school, notice):
    html = board(client, bilingual(school), print_=True)
    assert (
        '<span lang="cy">Hysbysiadau TGCh i staff</span> / '
        '<span lang="en-GB">ICT notices for staff</span>'
    ) in html
    assert '<span lang="cy">Pryd</span> / <span lang="en-GB">When</span>' in html


def test_a_welsh_medium_schools_board_is_in_welsh_marked_as_welsh(client, school, notice):
    school.language = Language.CY
    school.save(update_fields=["language"])
    html = board(client, school)  # a visitor whose browser asks for nothing: English pages
    assert '<html lang="en-GB">' in html
    assert '<span lang="cy">Pryd</span>' in html
    assert "When" not in html.replace("When:", "")


def test_an_english_schools_board_is_as_it_was(client, school, notice):
    html = board(client, school)
    assert "<dt>When</dt>" in html
    assert 'lang="cy"' not in html


def test_the_staff_list_mail_is_bilingual_welsh_first(school, notice, settings):
    settings.SITE_URL = "https://changes.greenfield.example"
    bilingual(school)
    message = OutboxMessage.objects.get(to_address=STAFF_LIST, template="notice_published")
    mail = build_message(message)
    text = mail.body
    assert text.startswith("Helo bawb, / Hello everyone,")
    assert "Pryd / When: Dydd Llun / Monday" in text
    assert text.index("Mae gwaith wedi'i gynllunio ar TGCh yr ysgol") < text.index(
        "There is planned work on the school's ICT"
    )
    [(html, _)] = mail.alternatives
    assert '<span lang="cy">Pryd</span> / <span lang="en-GB">When</span>' in html
    assert '<html lang="cy">' in html


def test_a_welsh_reminder_says_its_lead_time_in_welsh(school, notice, settings):
    from changedesk.communication.mail import queue_reminder, reminder_key

    school.language = Language.CY
    school.save(update_fields=["language"])
    queue_reminder(notice, settings_for(school), 60, reminder_key(notice, 60))
    message = OutboxMessage.objects.get(to_address=STAFF_LIST, template="notice_reminder")
    mail = build_message(message)
    assert "Nodyn atgoffa: mae hyn yn dechrau ymhen 1 awr" in mail.body
    assert mail.subject.startswith("Nodyn atgoffa: Ystafell TGCh 2 ar gau")
    assert mail.subject.endswith("ymhen 1 awr")
