"""Ysgol Bryn Derw's own content in the demo, in Welsh: its people work in Welsh.

Dafydd, the school's ICT technician, has raised three RFCs of the school's own (one a draft,
one waiting for Gareth's initial approval, one approved for planning with its plan being
written), and published a general notice, written in both languages, Welsh first, as the
school's bilingual notices ask. The school's calendar (its term, an INSET day, the Year 6
assessments and the census-day freeze) and its maintenance windows are named in Welsh.

This is the school's data, written in Welsh directly (not through the catalogue). Made once:
the RFCs by title, the notice by title, the periods and windows by name.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django.utils import timezone

from changedesk.accounts.models import School, User
from changedesk.changes.models import Change
from changedesk.changes.services import create_change, update_change
from changedesk.changes.workflow import perform
from changedesk.communication.models import Notice
from changedesk.communication.services import create_notice, publish_notice

WELSH_MONTHS = (
    "Ionawr", "Chwefror", "Mawrth", "Ebrill", "Mai", "Mehefin",
    "Gorffennaf", "Awst", "Medi", "Hydref", "Tachwedd", "Rhagfyr",
)  # fmt: skip
ENGLISH_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip

DRAFT = {
    "title": "Symud ffolderi'r staff i OneDrive",
    "description": "Symud ffolderi personol y staff o'r gweinydd ffeiliau i OneDrive, fesul "
    "adran, gan gadw'r un caniatâd.",
    "reason": "Mae'r gweinydd ffeiliau bron yn llawn, ac mae'r staff eisiau gweld eu "
    "ffeiliau gartref heb gysylltu â'r rhwydwaith.",
}
PRINTER = {
    "title": "Argraffydd newydd i swyddfa'r ysgol",
    "description": "Gosod argraffydd laser lliw newydd yn lle'r hen un yn swyddfa'r ysgol, "
    "a'i gysylltu â'r rhwydwaith ac â gliniaduron y swyddfa.",
    "reason": "Mae'r hen argraffydd yn torri i lawr bob wythnos, ac nid oes rhannau ar ei "
    "gyfer mwyach.",
}
WHITEBOARDS = {
    "title": "Diweddaru meddalwedd y sgriniau cyffwrdd yn y dosbarthiadau",
    "description": "Gosod fersiwn newydd meddalwedd y sgriniau cyffwrdd ar y naw sgrin yn y "
    "dosbarthiadau ac ar liniaduron yr athrawon.",
    "reason": "Nid yw'r fersiwn sydd gennym yn cael diweddariadau diogelwch mwyach, ac mae'r "
    "fersiwn newydd yn cynnwys offer Cymraeg.",
}
WHITEBOARDS_PLAN = {
    "details": "1. Gosod y fersiwn newydd ar un sgrin ac un gliniadur i'w brofi am wythnos.\n"
    "2. Gosod y diweddariad ar weddill y sgriniau ar ôl ysgol.\n"
    "3. Gwirio bod pob sgrin yn agor gwersi'r athrawon ac yn dangos y Gymraeg yn gywir.",
    "impact": "Ni fydd y sgriniau ar gael am tua awr ar ôl ysgol, tra bydd y diweddariad yn "
    "cael ei osod.",
    "risk": "Isel. Efallai na fydd hen wersi'n agor yn iawn yn y fersiwn newydd.",
}
NOTICE_TITLE = "Gwaith ar y rhwydwaith diwifr / Work on the Wi-Fi"


def _local(school: School, day: date, at: time = time(0, 0)) -> datetime:
    return datetime.combine(day, at, tzinfo=school.zone)


def build_welsh_school(school: School, people: dict[str, User]) -> None:
    """Bryn Derw's RFCs, notice, calendar and windows (each made once)."""
    dafydd, gareth = people["dafydd"], people["gareth"]
    existing = set(Change.objects.filter(school=school).values_list("title", flat=True))
    if DRAFT["title"] not in existing:
        create_change(school, dafydd, dict(DRAFT))
    if PRINTER["title"] not in existing:
        printer = create_change(school, dafydd, dict(PRINTER))
        perform(printer.pk, "submit", dafydd)
    if WHITEBOARDS["title"] not in existing:
        boards = create_change(school, dafydd, dict(WHITEBOARDS))
        perform(boards.pk, "submit", dafydd)
        perform(
            boards.pk,
            "approve",
            gareth,
            comment="Iawn, ond ar ôl yr asesiadau, nid yn ystod wythnos yr asesiadau.",
        )
        update_change(boards.pk, dafydd, dict(WHITEBOARDS_PLAN))
    _notice(school, dafydd)
    _calendar(school)


def _notice(school: School, dafydd: User) -> None:
    """A general notice, written in both languages by the communicator, Welsh first."""
    if Notice.objects.filter(school=school, title=NOTICE_TITLE).exists():
        return
    today = timezone.now().astimezone(school.zone).date()
    saturday = today + timedelta(days=(5 - today.weekday()) % 7 or 7)
    cy = f"Dydd Sadwrn {saturday.day} {WELSH_MONTHS[saturday.month - 1]}, 9 tan 12"
    en = f"Saturday {saturday.day} {ENGLISH_MONTHS[saturday.month - 1]}, 9am to 12 noon"
    data: dict[str, Any] = {
        "title": NOTICE_TITLE,
        "what": "Bydd Dafydd yn gosod dau bwynt diwifr newydd yn y neuadd ac yn y llyfrgell.\n\n"
        "Dafydd is fitting two new wireless access points in the hall and the library.",
        "when_text": f"{cy} / {en}",
        "what_you_will_notice": "Ni fydd y rhwydwaith diwifr yn gweithio yn y neuadd nac yn y "
        "llyfrgell yn ystod y gwaith.\n\n"
        "The Wi-Fi will not work in the hall or the library during the work.",
        "what_to_do": "Dim byd, oni bai eich bod yn yr ysgol fore Sadwrn: defnyddiwch y "
        "cyfrifiaduron yn yr ystafell TGCh.\n\n"
        "Nothing, unless you are in school on Saturday morning: use the computers in the "
        "ICT room.",
        "who_to_ask": "Dafydd Price, Technegydd TGCh / ICT technician",
        "starts_at": _local(school, saturday, time(9, 0)),
        "ends_at": _local(school, saturday, time(12, 0)),
    }
    notice = create_notice(school, dafydd, data)
    publish_notice(notice.pk, dafydd)


def _calendar(school: School) -> None:
    from changedesk.schedule.models import (
        CalendarPeriod,
        MaintenanceWindow,
        PeriodKind,
        SchoolCalendar,
    )

    SchoolCalendar.objects.get_or_create(school=school)
    today = timezone.now().astimezone(school.zone).date()
    term_start = today - timedelta(days=today.weekday() + 21)
    tests = today + timedelta(days=14 - today.weekday())
    periods = [
        (PeriodKind.TERM, "Y tymor hwn", term_start, today + timedelta(days=70), False),
        (PeriodKind.INSET, "Diwrnod HMS (hyfforddiant staff)",
         term_start, term_start + timedelta(days=1), False),
        (PeriodKind.EXAM, "Asesiadau personol Blwyddyn 6", tests, tests + timedelta(days=5), False),
        (PeriodKind.FREEZE, "Dim newidiadau: diwrnod y cyfrifiad (PLASC)",
         today + timedelta(days=45), today + timedelta(days=47), True),
    ]  # fmt: skip
    for kind, name, first, after_last, hard in periods:
        CalendarPeriod.objects.get_or_create(
            school=school,
            kind=kind,
            name=name,
            defaults={
                "starts_at": _local(school, first),
                "ends_at": _local(school, after_last),
                "is_hard": hard,
            },
        )
    if not MaintenanceWindow.objects.filter(school=school).exists():
        MaintenanceWindow.objects.create(
            school=school, name="Dyddiau'r wythnos ar ôl 17:30", weekdays=[0, 1, 2, 3, 4],
            start_time=time(17, 30), end_time=None,
        )  # fmt: skip
        MaintenanceWindow.objects.create(
            school=school, name="Penwythnosau", weekdays=[5, 6],
            start_time=time(0, 0), end_time=None,
        )  # fmt: skip
