"""The licence log's services: saving licences, giving them out (the seats counted), the
figures and statuses (each school's own day), the worker's warnings and the demo."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.utils import timezone

from changedesk.accounts.choices import Role
from changedesk.configuration.models import ConfigurationItem, ItemKind
from changedesk.conftest import member
from changedesk.lib.errors import InvalidAction, NotPermitted
from changedesk.notifications.models import OutboxMessage
from changedesk.releases.models import Licence, LicenceAssignment
from changedesk.releases.services import licences as services

pytestmark = pytest.mark.django_db


def new(school, who, **data):
    values = {"product": "Minecraft Education", "kind": "per_user", "seats": 5, **data}
    return services.save_licence(school, who, values)


def items(school, n, prefix="Laptop"):
    return [
        ConfigurationItem.objects.create(
            school=school, name=f"{prefix} {i}", kind=ItemKind.OTHER, identifier=f"{prefix}-{i}"
        )
        for i in range(1, n + 1)
    ]


# --- Saving. ---


def test_the_release_manager_and_school_admin_add_licences(school, rachel, sam):
    a = new(school, rachel)
    b = new(school, sam, product="SIMS", kind="site", seats=None)
    assert a.created_by == rachel and a.seats == 5
    assert b.seats is None and b.kind == "site"


@pytest.mark.parametrize("who", ["bella", "isaac", "fiona", "olivia"])
def test_others_of_the_school_may_not_write(school, rachel, bella, isaac, fiona, olivia, who):
    person = {"bella": bella, "isaac": isaac, "fiona": fiona, "olivia": olivia}[who]
    with pytest.raises(NotPermitted):
        new(school, person)
    licence = new(school, rachel)
    with pytest.raises(NotPermitted):
        services.save_licence(school, person, {"seats": 9}, licence)
    with pytest.raises(NotPermitted):
        services.assign(licence, person, {"person": "Ann"})
    assert Licence.objects.get().seats == 5 and not LicenceAssignment.objects.exists()


def test_an_outsider_may_not_write(school, rachel, oscar):
    with pytest.raises(NotPermitted):
        new(school, oscar)
    licence = new(school, rachel)
    with pytest.raises(NotPermitted):
        services.save_licence(school, oscar, {"seats": 9}, licence)


@pytest.mark.parametrize(
    "data,field",
    [
        ({"kind": "per_device", "seats": None}, "seats"),
        ({"kind": "subscription", "seats": None}, "seats"),
        ({"seats": 0}, "seats"),
        ({"product": "  "}, "product"),
        ({"kind": "lifetime"}, "kind"),
        ({"bought_on": date(2026, 9, 1), "expires_on": date(2026, 8, 31)}, "expires_on"),
        ({"notice_days": 5000}, "notice_days"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_licences_are_refused_field_by_field(school, rachel, data, field):
    with pytest.raises(InvalidAction) as refused:
        new(school, rachel, **data)
    assert field in refused.value.fields
    assert not Licence.objects.exists()


def test_an_order_reference_names_one_licence_of_a_product(school, rachel):
    new(school, rachel, order_reference="PO-1")
    new(school, rachel, order_reference="PO-1", product="Another")
    with pytest.raises(InvalidAction) as refused:
        new(school, rachel, order_reference="PO-1")
    assert "order_reference" in refused.value.fields


def test_changing_kind_must_fit_the_holders(school, rachel, laptop):
    licence = new(school, rachel, kind="site", seats=None)
    services.assign(licence, rachel, {"item": laptop})
    with pytest.raises(InvalidAction) as refused:
        services.save_licence(school, rachel, {"kind": "per_user", "seats": 5}, licence)
    assert "kind" in refused.value.fields
    services.save_licence(school, rachel, {"kind": "per_device", "seats": 5}, licence)


# --- Giving it out. ---


def test_a_per_user_licence_is_given_to_members_and_names(school, rachel, fiona, oscar):
    licence = new(school, rachel)
    services.assign(licence, rachel, {"user": fiona})
    services.assign(licence, rachel, {"user": "rachel"})
    services.assign(licence, rachel, {"person": "  Ann   Smith "})
    holders = sorted(a.holder for a in LicenceAssignment.objects.all())
    assert "Ann Smith" in holders and len(holders) == 3
    for data, field in [
        ({"user": oscar}, "user"),  # not a member of the school
        ({"user": "nobody"}, "user"),
        ({"person": "ann smith"}, "person"),  # a duplicate, in any case
        ({"user": fiona}, "user"),
        ({}, "person"),
        ({"user": fiona, "person": "Bob"}, "user"),
    ]:
        with pytest.raises(InvalidAction) as refused:
            services.assign(licence, rachel, data)
        assert field in refused.value.fields, data
    assert LicenceAssignment.objects.count() == 3


def test_devices_and_people_go_to_their_own_kinds(school, rachel, fiona, laptop, other_school):
    per_user = new(school, rachel)
    per_device = new(school, rachel, product="Windows 11", kind="per_device")
    site = new(school, rachel, product="SMART", kind="site", seats=None)
    with pytest.raises(InvalidAction) as refused:
        services.assign(per_user, rachel, {"item": laptop})
    assert "per-user" in refused.value.fields["item"]
    with pytest.raises(InvalidAction):
        services.assign(per_device, rachel, {"user": fiona})
    with pytest.raises(InvalidAction):
        services.assign(per_device, rachel, {"person": "Ann"})
    elsewhere = ConfigurationItem.objects.create(school=other_school, name="Theirs")
    with pytest.raises(InvalidAction):
        services.assign(per_device, rachel, {"item": elsewhere})
    with pytest.raises(InvalidAction):
        services.assign(per_device, rachel, {"item": elsewhere.pk})
    services.assign(per_device, rachel, {"item": laptop.pk})
    services.assign(site, rachel, {"item": laptop})
    services.assign(site, rachel, {"user": fiona})
    with pytest.raises(InvalidAction):
        services.assign(per_device, rachel, {"item": laptop})
    assert LicenceAssignment.objects.count() == 3


def test_a_full_licence_is_refused_another_holder(school, rachel):
    licence = new(school, rachel, seats=2)
    services.assign(licence, rachel, {"person": "A"})
    services.assign(licence, rachel, {"person": "B"})
    with pytest.raises(InvalidAction) as refused:
        services.assign(licence, rachel, {"person": "C"})
    assert refused.value.message == "All 2 seats are taken: free one or add seats."
    # A subscription past its seats is over-allocated, not refused.
    sub = new(school, rachel, product="Adobe", kind="subscription", seats=1)
    services.assign(sub, rachel, {"person": "A"})
    services.assign(sub, rachel, {"person": "B"})


def test_fewer_seats_than_holders_is_over_allocated(school, rachel):
    licence = new(school, rachel, seats=3)
    for name in "ABC":
        services.assign(licence, rachel, {"person": name})
    licence = services.save_licence(school, rachel, {"seats": 2}, licence)
    services.attach_figures([licence])
    assert licence.figures.over_allocated and licence.figures.over_by == 1
    assert licence.figures.free == 0
    with pytest.raises(InvalidAction):
        services.assign(licence, rachel, {"person": "D"})
    a = LicenceAssignment.objects.first()
    services.unassign(a, rachel)
    licence.refresh_from_db()
    del licence.used
    services.attach_figures([licence])
    assert not licence.figures.over_allocated and licence.figures.used == 2


def test_only_a_manager_takes_a_licence_back(school, rachel, bella):
    licence = new(school, rachel)
    holder = services.assign(licence, rachel, {"person": "A"})
    with pytest.raises(NotPermitted):
        services.unassign(holder, bella)
    assert LicenceAssignment.objects.count() == 1


# --- Figures and statuses. ---


def _today(school):
    return services.today_in(school)


def test_the_statuses_and_their_filters_agree(school, rachel):
    today = _today(school)
    over = new(school, rachel, product="Over", seats=3)
    for name in "ABC":
        services.assign(over, rachel, {"person": name})
    services.save_licence(school, rachel, {"seats": 2}, over)
    under = new(school, rachel, product="Under", seats=8)
    for name in "ABCDE":  # 5 of 8: under three quarters
        services.assign(under, rachel, {"person": name})
    enough = new(school, rachel, product="Enough", seats=8)
    for name in "ABCDEF":  # 6 of 8: three quarters exactly
        services.assign(enough, rachel, {"person": name})
    small = new(school, rachel, product="Small", seats=3)  # under 4 seats: never under-used
    new(
        school, rachel, product="Soon", kind="site", seats=None,
        expires_on=today + timedelta(days=30), notice_days=30,
    )  # fmt: skip
    later = new(
        school, rachel, product="Later", kind="site", seats=None,
        expires_on=today + timedelta(days=31), notice_days=30,
    )  # fmt: skip
    new(
        school, rachel, product="Gone", kind="site", seats=None,
        expires_on=today - timedelta(days=1),
    )  # fmt: skip
    lapsed = new(
        school, rachel, product="Lapsed", kind="site", seats=None,
        expires_on=today - timedelta(days=1), is_active=False,
    )  # fmt: skip
    rows = list(services.with_used(Licence.objects.all()))
    services.attach_figures(rows)
    flagged = {lic.product: set(lic.figures.flags) for lic in rows}
    assert flagged["Over"] == {"over-allocated"}
    assert flagged["Under"] == {"under-used"}
    assert flagged["Enough"] == set() and flagged["Small"] == set()
    assert flagged["Soon"] == {"expiring"} and flagged["Later"] == set()
    assert flagged["Gone"] == {"expired"} and flagged["Lapsed"] == set()
    found = {
        status: set(
            services.filter_status(Licence.objects.all(), status, [school]).values_list(
                "product", flat=True
            )
        )
        for status in services.STATUSES
    }
    assert found == {
        "over_allocated": {"Over"},
        "under_used": {"Under"},
        "expiring": {"Soon"},
        "expired": {"Gone"},
    }
    assert services.summary(Licence.objects.all(), [school]) == {
        "over_allocated": 1, "under_used": 1, "expiring": 1, "expired": 1,
    }  # fmt: skip
    assert small and later and lapsed


def _with(status, schools, now):
    scope = Licence.objects.all()
    if schools and len(schools) == 1:
        scope = scope.filter(school=schools[0])
    rows = services.with_status_columns(scope).filter(services.status_q(status, schools, now))
    return set(rows.values_list("product", flat=True))


def test_statuses_are_counted_in_each_schools_own_day(school, rachel, other_school):
    """At 11:30 UTC on 1 June it is 23:30 in Auckland and 12:30 in London; an hour later
    Auckland is into 2 June."""
    school.timezone = "Pacific/Auckland"
    school.save()
    before = datetime(2027, 6, 1, 11, 30, tzinfo=UTC)
    after = datetime(2027, 6, 1, 12, 30, tzinfo=UTC)
    assert services.today_in(school, before) == date(2027, 6, 1)
    assert services.today_in(school, after) == date(2027, 6, 2)
    new(school, rachel, product="Auckland", kind="site", seats=None,
        expires_on=date(2027, 6, 1), notice_days=10)  # fmt: skip
    Licence.objects.create(
        school=other_school, product="London", kind="site", expires_on=date(2027, 6, 1)
    )
    both = [school, other_school]
    for schools in (both, None):
        assert _with("expiring", schools, before) == {"Auckland", "London"}
        assert _with("expired", schools, before) == set()
        assert _with("expiring", schools, after) == {"London"}
        assert _with("expired", schools, after) == {"Auckland"}
    # The notice period starts `notice_days` before the expiry day.
    assert _with("expiring", [school], datetime(2027, 5, 22, 0, 0, tzinfo=UTC)) == {"Auckland"}
    assert _with("expiring", [school], datetime(2027, 5, 21, 0, 0, tzinfo=UTC)) == set()
    rows = list(Licence.objects.filter(product="Auckland").select_related("school"))
    services.attach_figures(rows, after)
    assert rows[0].figures.expired and not rows[0].figures.expiring


# --- The worker's warnings. ---


@pytest.fixture
def managers(school, rachel):
    return [rachel, member("rita", school, [Role.RELEASE_MANAGER])]


def _mails():
    return list(OutboxMessage.objects.filter(template="releases_licences").order_by("id"))


def test_licences_entering_their_notice_are_warned_once_per_expiry_day(school, rachel, managers):
    now = timezone.now()
    today = services.today_in(school, now)
    licence = new(
        school, rachel, product="Adobe", kind="subscription", seats=25,
        expires_on=today + timedelta(days=61), notice_days=60,
    )  # fmt: skip
    assert services.licence_warnings(now, force=True) == 0  # not yet in its notice
    assert (
        services.licence_warnings(now + timedelta(days=1), force=True) == 2
    )  # one for each manager
    mails = _mails()
    assert len(mails) == 2 and {m.recipient for m in mails} == set(managers)
    assert mails[0].context["expiring"][0]["product"] == "Adobe"
    assert services.licence_warnings(now + timedelta(days=1), force=True) == 0
    assert services.licence_warnings(now + timedelta(days=20), force=True) == 0  # once only
    licence.refresh_from_db()
    assert licence.warned_on == today + timedelta(days=1)
    # Renewed: a new expiry day, a new notice period, a new warning when it comes.
    services.save_licence(school, rachel, {"expires_on": today + timedelta(days=400)}, licence)
    assert services.licence_warnings(now + timedelta(days=20), force=True) == 0
    assert services.licence_warnings(now + timedelta(days=340), force=True) == 2
    assert len(_mails()) == 4


def test_over_allocated_licences_are_warned_at_most_once_a_week(school, rachel, managers):
    now = timezone.now()
    licence = new(school, rachel, seats=2)
    for name in "AB":
        services.assign(licence, rachel, {"person": name})
    services.save_licence(school, rachel, {"seats": 1}, licence)
    assert services.licence_warnings(now, force=True) == 2
    assert _mails()[0].context["over"][0]["used"] == 2
    assert services.licence_warnings(now + timedelta(days=3), force=True) == 0
    assert services.licence_warnings(now + timedelta(days=6), force=True) == 0
    assert services.licence_warnings(now + timedelta(days=7), force=True) == 2
    services.save_licence(school, rachel, {"seats": 5}, licence)
    assert services.licence_warnings(now + timedelta(days=30), force=True) == 0


@pytest.mark.usefixtures("midday")
def test_the_worker_looks_every_ten_minutes_at_most(school, rachel, managers):
    now = timezone.now()
    assert services.licence_warnings(now, force=True) == 0  # nothing to say yet
    licence = new(school, rachel, seats=1)
    services.assign(licence, rachel, {"person": "A"})
    Licence.objects.filter(pk=licence.pk).update(seats=0)
    assert services.licence_warnings(now + timedelta(minutes=5)) == 0  # too soon to look
    assert services.licence_warnings(now + timedelta(minutes=11)) == 2


def test_the_warning_mail_renders(school, rachel, managers):
    from changedesk.notifications.email import render

    licence = new(school, rachel, seats=1)
    services.assign(licence, rachel, {"person": "A"})
    services.save_licence(
        school, rachel, {"expires_on": services.today_in(school) + timedelta(days=5)}, licence
    )
    services.save_licence(school, rachel, {"kind": "subscription"}, licence)
    services.assign(licence, rachel, {"person": "B"})  # a subscription may go over
    assert services.licence_warnings(timezone.now(), force=True) == 2
    message = _mails()[0]
    rendered = render(message.template, message.context)
    assert "Minecraft Education" in rendered.subject + rendered.text
    assert "expiring" in rendered.subject and "over-allocated" in rendered.subject
    assert "2 holders for 1 seat:" in rendered.text
    assert "Minecraft Education" in rendered.html


def test_demo_seeds_the_licences_once(school):
    from changedesk.releases.demo import licences as demo

    people = {
        "peter": member("peter", school, [Role.RELEASE_MANAGER]),
        "sam": member("sam", school, [Role.SCHOOL_ADMIN]),
        "olivia": member("olivia", school, [Role.BUILD_DEVELOPER]),
        "ivan": member("ivan", school, [Role.INSTALLER]),
        "fiona": member("fiona", school, [Role.FINAL_APPROVER]),
        "tom": member("tom", school, [Role.VIEWER]),
    }
    demo.seed(school, people)
    demo.seed(school, people)
    rows = list(services.with_used(Licence.objects.filter(school=school)))
    services.attach_figures(rows)
    by = {lic.product: lic for lic in rows}
    assert len(rows) == 6
    assert by["Minecraft Education"].figures.over_allocated
    assert by["Minecraft Education"].figures.used == 32 and by["Minecraft Education"].seats == 30
    assert by["Adobe Creative Cloud for education"].figures.expiring
    assert by["Windows 11 Education"].figures.under_used
    assert by["Windows 11 Education"].seats == 60
    assert ConfigurationItem.objects.filter(school=school, identifier="ICT-01").exists()
    assert sum(lic.figures.under_used for lic in rows) == 1
