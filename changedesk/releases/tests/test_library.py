"""The library's services: the catalogue (who may, the checksum, the licence of the school),
the in/out book's invariants (nothing out twice, nothing back that never went out, nothing
withdrawn taken out), who may take and return, and the worker's overdue reminders."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from changedesk.accounts.choices import Role
from changedesk.conftest import member
from changedesk.lib.errors import InvalidAction, NotPermitted
from changedesk.notifications.models import OutboxMessage
from changedesk.releases.models import Checkout, Licence, Release, Software
from changedesk.releases.services import library as services

pytestmark = pytest.mark.django_db

SHA = "sha256:" + "ab" * 32


def add(school, who, **data) -> Software:
    data = {"title": "SIMS client", "location": r"\\deploy\sims", **data}
    return services.save_software(school, who, data)


def soon(school, days: int = 7) -> date:
    return services.today_in(school) + timedelta(days=days)


@pytest.fixture
def piece(school, rachel):
    return add(school, rachel, checksum=SHA)


# --- The catalogue. ---


def test_a_keeper_adds_a_piece(school, rachel):
    made = add(
        school, rachel, vendor=" ESS ", version="7.2", kind="installer", checksum=SHA.upper()
    )
    made.refresh_from_db()
    assert (made.school, made.vendor, made.checksum, made.created_by) == (
        school, "ESS", SHA, rachel
    )  # fmt: skip


@pytest.mark.parametrize("who", ["rachel", "bella", "sam"])
def test_who_may_keep_the_library(who, school, rachel, bella, sam):
    people = {"rachel": rachel, "bella": bella, "sam": sam}
    assert add(school, people[who]).pk


@pytest.mark.parametrize("who", ["isaac", "olivia", "fiona", "oscar"])
def test_who_may_not_keep_the_library(who, school, isaac, olivia, fiona, oscar):
    people = {"isaac": isaac, "olivia": olivia, "fiona": fiona, "oscar": oscar}
    with pytest.raises(NotPermitted):
        add(school, people[who])
    assert not Software.objects.exists()


@pytest.mark.parametrize(
    "checksum",
    ["sha256:abc", "sha256:" + "g" * 64, "md5:" + "a" * 40, "crc32:deadbeef", "a" * 64,
     "sha1:" + "a" * 39, 12],
)  # fmt: skip
def test_a_bad_checksum_is_a_field_error(checksum, school, rachel):
    with pytest.raises(InvalidAction) as refused:
        add(school, rachel, checksum=checksum)
    assert "checksum" in refused.value.fields
    assert not Software.objects.exists()


@pytest.mark.parametrize(
    "checksum", ["", "md5:" + "0" * 32, "sha1:" + "f" * 40, "sha512:" + "1" * 128, SHA]
)
def test_good_checksums_are_kept(checksum, school, rachel):
    assert add(school, rachel, checksum=checksum).checksum == checksum


def test_a_licence_of_another_school_is_refused(school, other_school, rachel):
    theirs = Licence.objects.create(school=other_school, product="Office")
    with pytest.raises(InvalidAction) as refused:
        add(school, rachel, licence=theirs)
    assert "licence" in refused.value.fields
    ours = Licence.objects.create(school=school, product="Office")
    assert add(school, rachel, licence=ours.pk).licence == ours


def test_missing_title_and_location_are_field_errors(school, rachel):
    with pytest.raises(InvalidAction) as refused:
        services.save_software(school, rachel, {"title": "", "location": ""})
    assert {"title", "location"} <= set(refused.value.fields)


def test_unknown_fields_are_refused(school, rachel):
    with pytest.raises(InvalidAction) as refused:
        add(school, rachel, school_id=3)
    assert "school_id" in refused.value.fields


def test_an_edit_keeps_the_school_and_withdraws(piece, rachel, school):
    services.save_software(school, rachel, {"is_active": False, "version": "8"}, piece)
    piece.refresh_from_db()
    assert (piece.is_active, piece.version, piece.school) == (False, "8", school)


# --- The in/out book. ---


def test_take_out_and_bring_back(piece, isaac, olivia, school):
    checkout = services.take_out(piece, isaac, {"taken_by": "olivia", "due_back": soon(school),
                                                "purpose": "Reimage ICT suite"})  # fmt: skip
    assert (checkout.taken_by, checkout.recorded_by, checkout.is_out) == (olivia, isaac, True)
    back = services.bring_back(checkout, isaac, "All fine")
    assert (back.is_out, back.returned_to, back.return_notes) == (False, isaac, "All fine")
    # And out again, by the piece.
    again = services.take_out(piece, olivia, {"due_back": soon(school)})
    assert again.taken_by == olivia
    assert services.bring_back(piece, olivia).pk == again.pk
    assert Checkout.objects.filter(software=piece).count() == 2


def test_nothing_is_out_twice(piece, isaac, school):
    services.take_out(piece, isaac, {"due_back": soon(school)})
    with pytest.raises(InvalidAction) as refused:
        services.take_out(piece, isaac, {"due_back": soon(school)})
    assert "software" in refused.value.fields
    assert "Isaac Example has it" in refused.value.message
    assert Checkout.objects.out().count() == 1


def test_the_constraint_is_the_backstop(piece, isaac, school):
    """A writer that skips the lock meets the constraint; the service turns it into a
    refusal, in a savepoint that leaves the transaction usable."""
    Checkout.objects.create(school=school, software=piece, taken_by=isaac, due_back=soon(school))
    with pytest.raises(IntegrityError), transaction.atomic():
        Checkout.objects.create(
            school=school, software=piece, taken_by=isaac, due_back=soon(school)
        )
    real_filter = Checkout.objects.filter

    class Blind:
        """The open checkout not seen (as by a writer that did not lock)."""

        def __init__(self, *args, **kwargs):
            pass

        def first(self):
            return None

    import changedesk.releases.services.library as module

    original = module.Checkout.objects.filter
    module.Checkout.objects.filter = lambda *a, **k: (  # type: ignore[method-assign]
        Blind() if k.get("returned_at__isnull") else real_filter(*a, **k)
    )
    try:
        with transaction.atomic():
            with pytest.raises(InvalidAction) as refused:
                services.take_out(piece, isaac, {"due_back": soon(school)})
            assert Software.objects.filter(pk=piece.pk).exists()  # still usable
    finally:
        module.Checkout.objects.filter = original  # type: ignore[method-assign]
    assert "software" in refused.value.fields
    assert "at the same moment" in refused.value.message  # the constraint's refusal
    assert Checkout.objects.filter(software=piece).count() == 1


def test_nothing_comes_back_that_never_went_out(piece, isaac, school):
    with pytest.raises(InvalidAction) as refused:
        services.bring_back(piece, isaac)
    assert "software" in refused.value.fields
    checkout = services.take_out(piece, isaac, {"due_back": soon(school)})
    services.bring_back(checkout, isaac)
    with pytest.raises(InvalidAction) as refused:
        services.bring_back(checkout, isaac)
    assert "checkout" in refused.value.fields
    with pytest.raises(InvalidAction):
        services.bring_back(piece, isaac)


def test_a_withdrawn_piece_is_not_taken_out(piece, rachel, isaac, school):
    services.save_software(school, rachel, {"is_active": False}, piece)
    piece.refresh_from_db()
    with pytest.raises(InvalidAction) as refused:
        services.take_out(piece, isaac, {"due_back": soon(school)})
    assert "withdrawn" in refused.value.message
    assert not Checkout.objects.exists()


@pytest.mark.parametrize("who", ["rachel", "bella", "isaac", "olivia", "sam"])
def test_who_may_take_out_and_bring_back(who, piece, school, rachel, bella, isaac, olivia, sam):
    person = {"rachel": rachel, "bella": bella, "isaac": isaac, "olivia": olivia, "sam": sam}[who]
    checkout = services.take_out(piece, person, {"due_back": soon(school)})
    assert checkout.taken_by == person
    assert not services.bring_back(checkout, person).is_out


@pytest.mark.parametrize("who", ["fiona", "oscar"])
def test_who_may_not_take_out(who, piece, school, fiona, oscar, isaac):
    person = {"fiona": fiona, "oscar": oscar}[who]
    with pytest.raises(NotPermitted):
        services.take_out(piece, person, {"due_back": soon(school)})
    checkout = services.take_out(piece, isaac, {"due_back": soon(school)})
    with pytest.raises(NotPermitted):
        services.bring_back(checkout, person)
    assert Checkout.objects.get().is_out


@pytest.mark.parametrize(
    "data, field",
    [
        ({}, "due_back"),
        ({"due_back": "yesterday"}, "due_back"),
        ({"due_back": "past"}, "due_back"),
        ({"due_back": "far"}, "due_back"),
        ({"taken_by": "nobody"}, "taken_by"),
        ({"taken_by": "oscar"}, "taken_by"),
        ({"change": "theirs"}, "change"),
        ({"change": 99999999}, "change"),
        ({"release": "theirs"}, "release"),
        ({"purpose": "x" * 301}, "purpose"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_take_out_is_a_field_error(data, field, piece, isaac, school, other_school, oscar):
    data = dict(data)
    today = services.today_in(school)
    if "due_back" not in data and field != "due_back":
        data["due_back"] = soon(school)
    data["due_back"] = {"past": today - timedelta(days=1), "far": today + timedelta(days=400)}.get(
        data.get("due_back"), data.get("due_back")
    )
    if data.get("change") == "theirs":
        from changedesk.changes.services import create_change
        from changedesk.conftest import REQUEST

        data["change"] = create_change(other_school, oscar, dict(REQUEST))
    if data.get("release") == "theirs":
        data["release"] = Release.objects.create(school=other_school, title="Theirs")
    with pytest.raises(InvalidAction) as refused:
        services.take_out(piece, isaac, data)
    assert field in refused.value.fields
    assert not Checkout.objects.exists()


def test_take_out_for_an_rfc_and_a_release_of_the_school(piece, isaac, school, draft):
    release = Release.objects.create(school=school, title="Summer 2027")
    checkout = services.take_out(
        piece, isaac, {"due_back": soon(school), "change": draft.pk, "release": release}
    )
    assert (checkout.change, checkout.release) == (draft, release)


def test_due_back_is_the_schools_day(piece, isaac, school, monkeypatch):
    """Late on 1 March in London it is already 2 March in Auckland: there, 1 March is past."""
    school.timezone = "Pacific/Auckland"
    school.save()
    piece.school.refresh_from_db()
    moment = datetime(2027, 3, 1, 20, 0, tzinfo=UTC)  # 2 March, 09:00 in Auckland
    monkeypatch.setattr(timezone, "now", lambda: moment)
    with pytest.raises(InvalidAction):
        services.take_out(piece, isaac, {"due_back": date(2027, 3, 1)})
    assert services.take_out(piece, isaac, {"due_back": date(2027, 3, 2)}).pk


# --- The worker's overdue reminders. ---


def _out(piece, who, school, due: date, taken_days_ago: int = 10) -> Checkout:
    return Checkout.objects.create(
        school=school,
        software=piece,
        taken_by=who,
        due_back=due,
        taken_at=timezone.now() - timedelta(days=taken_days_ago),
        purpose="Reimage the ICT suite",
    )


@pytest.mark.usefixtures("midday")
def test_overdue_mails_the_taker_and_the_release_managers_once_a_day(piece, isaac, rachel, school):
    today = services.today_in(school)
    checkout = _out(piece, isaac, school, today - timedelta(days=2))
    now = timezone.now()
    assert services.overdue_checkouts(now) == 2
    mails = {m.recipient.username: m for m in OutboxMessage.objects.all()}
    assert set(mails) == {"isaac", "rachel"}
    assert mails["isaac"].template == "releases_overdue"
    assert mails["isaac"].context["as_manager"] is False
    assert mails["rachel"].context["as_manager"] is True
    assert mails["isaac"].context["days"] == 2
    checkout.refresh_from_db()
    assert checkout.nudged_on == today
    # Again the same day: nothing; the next day: again.
    assert services.overdue_checkouts(now + timedelta(minutes=5)) == 0
    assert OutboxMessage.objects.count() == 2
    assert services.overdue_checkouts(now + timedelta(days=1)) == 2
    assert OutboxMessage.objects.count() == 4


def test_overdue_renders(piece, isaac, school):
    from changedesk.notifications.email import render

    _out(piece, isaac, school, services.today_in(school) - timedelta(days=3))
    services.overdue_checkouts(timezone.now())
    message = OutboxMessage.objects.get(recipient=isaac)
    mail = render(message.template, message.context)
    assert mail.subject == "Please bring back SIMS client (3 days overdue)"
    assert f"/releases/library/{piece.pk}/" in mail.text and "Reimage the ICT suite" in mail.text
    assert "You took <strong>SIMS client</strong>" in mail.html
    manager = OutboxMessage.objects.get(recipient__username="rachel")
    told = render(manager.template, manager.context)
    assert told.subject == "Isaac Example has not brought back SIMS client (3 days overdue)"
    assert "release manager" in told.text


def test_overdue_skips_what_is_back_or_not_due(piece, isaac, rachel, school):
    today = services.today_in(school)
    back = _out(piece, isaac, school, today - timedelta(days=2))
    back.returned_at = timezone.now()
    back.save()
    other = add(school, rachel, title="Scratch")
    _out(other, isaac, school, today)  # due today: not yet overdue
    assert services.overdue_checkouts(timezone.now()) == 0
    assert not OutboxMessage.objects.exists()


def test_overdue_uses_the_schools_day(piece, isaac, school):
    """At 20:00 UTC on 1 March it is 2 March in Auckland: a piece due on 1 March is overdue
    there, and not in London."""
    moment = datetime(2027, 3, 1, 20, 0, tzinfo=UTC)
    checkout = _out(piece, isaac, school, date(2027, 3, 1))
    assert services.overdue_checkouts(moment) == 0
    school.timezone = "Pacific/Auckland"
    school.save()
    assert services.overdue_checkouts(moment) == 2  # isaac and rachel
    checkout.refresh_from_db()
    assert checkout.nudged_on == date(2027, 3, 2)


def test_overdue_without_an_address_queues_nothing_but_marks_the_day(piece, school):
    nomail = member("nomail", school, [Role.INSTALLER])
    nomail.email = ""
    nomail.save()
    checkout = _out(piece, nomail, school, services.today_in(school) - timedelta(days=1))
    assert services.overdue_checkouts(timezone.now()) == 1
    assert [m.recipient.username for m in OutboxMessage.objects.all()] == ["rachel"]
    checkout.refresh_from_db()
    assert checkout.nudged_on == services.today_in(school)
