"""The report archive's pages: who may read and who may decide, the frozen report shown as
frozen with its digest and decisions, the decision form, the A4 print, and query counts."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from django.urls import reverse

from changedesk.accounts.choices import Role
from changedesk.accounts.services import set_membership
from changedesk.changes.models import Change
from changedesk.changes.services import create_change
from changedesk.conftest import REQUEST, member
from changedesk.reports import archive
from changedesk.reports.models import Decision, Snapshot

pytestmark = pytest.mark.django_db

READERS = ("ian", "peter", "fiona", "sam")
NOT_READERS = ("olivia", "ivan")
DECIDERS = ("ian", "fiona", "sam")


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def client_of(client, user):
    client.force_login(user)
    return client


def stored(school, start: date, period: str = "month", ids: int = 2) -> Snapshot:
    """A snapshot written straight to the table (as `freeze` writes it), with `ids` RFC ids
    behind its one figure."""
    figures = {
        "school": {"id": school.pk, "slug": school.slug, "name": school.name},
        "period": period,
        "start": start.isoformat(),
        "end": archive.period_end(period, start).isoformat(),
        "groups": [
            {
                "key": "change",
                "label": "Change management",
                "figures": [
                    {
                        "key": "raised",
                        "label": "RFCs raised",
                        "value": ids,
                        "unit": "count",
                        "ids": list(range(1, ids + 1)),
                    }
                ],
            }
        ],
        "trend": {"raised": [{"start": start.isoformat(), "end": start.isoformat(), "value": ids}]},
    }
    return Snapshot.objects.create(
        school=school,
        period=period,
        start=start,
        end=archive.period_end(period, start),
        figures=figures,
        digest=archive.digest_of(figures),
        frozen_at=utc(2026, 12, 1, 0, 5),
    )


@pytest.fixture
def october(school, team) -> Snapshot:
    change = create_change(school, team["olivia"], dict(REQUEST))
    Change.objects.filter(pk=change.pk).update(created_at=utc(2026, 10, 10, 9))
    return archive.freeze(school, "month", date(2026, 10, 1), now=utc(2026, 11, 1, 1))


def pages(snapshot: Snapshot) -> list[str]:
    return [
        reverse("reports:snapshot", args=[snapshot.pk]),
        reverse("reports:snapshot_print", args=[snapshot.pk]),
    ]


def test_anonymous_people_are_sent_to_sign_in(client, october):
    for url in [reverse("reports:archive"), *pages(october)]:
        response = client.get(url)
        assert response.status_code == 302 and "login" in response["Location"]


def test_the_readers_read_the_archive_and_the_report(client, team, october):
    for name in READERS:
        signed_in = client_of(client, team[name])
        listing = signed_in.get(reverse("reports:archive"))
        assert listing.status_code == 200, name
        assert "October 2026" in listing.content.decode()
        for url in pages(october):
            assert signed_in.get(url).status_code == 200, (name, url)


def test_members_who_may_not_read_reports_are_refused(client, team, october):
    for name in NOT_READERS:
        signed_in = client_of(client, team[name])
        assert signed_in.get(reverse("reports:archive")).status_code == 403, name
        assert signed_in.get(f"{reverse('reports:archive')}?school=greenfield").status_code == 403
        for url in pages(october):
            assert signed_in.get(url).status_code == 403, (name, url)


def test_another_school_is_a_404(client, october, oscar, other_school):
    set_membership(oscar, other_school, [Role.FINAL_APPROVER])
    signed_in = client_of(client, oscar)
    for url in pages(october):
        assert signed_in.get(url).status_code == 404
    assert signed_in.get(f"{reverse('reports:archive')}?school=greenfield").status_code == 404
    assert signed_in.post(pages(october)[0], {"text": "x"}).status_code == 404


def test_a_superuser_reads_any_school(client, root, october):
    assert client_of(client, root).get(pages(october)[0]).status_code == 200


def test_the_report_is_shown_as_frozen_with_its_digest(client, team, october):
    # An RFC backdated into October after the freeze changes nothing on the page.
    before = client_of(client, team["fiona"]).get(pages(october)[0]).content.decode()
    later = create_change(october.school, team["olivia"], dict(REQUEST))
    Change.objects.filter(pk=later.pk).update(created_at=utc(2026, 10, 20, 9))
    after = client.get(pages(october)[0]).content.decode()
    assert october.digest in after
    assert "{#" not in after and "{%" not in after  # no template text leaks through
    assert "the figures below match it" in after
    assert f">{later.reference}<" not in after
    figures = lambda html: html.split("The figures as they stood")[1]  # noqa: E731
    assert "RFCs raised" in figures(after)
    assert figures(before) == figures(after)


def test_a_decider_records_a_decision_and_sees_it(client, team, october):
    signed_in = client_of(client, team["fiona"])
    page = signed_in.get(pages(october)[0]).content.decode()
    assert "Record the decision" in page
    assert 'type="date" name="decided_on" value="20' in page  # ISO, as a date input needs
    response = signed_in.post(
        pages(october)[0],
        {
            "text": "Tell users two days ahead.",
            "decided_by": "The committee",
            "decided_on": "2026-11-05",
        },
    )
    assert response.status_code == 302
    decision = Decision.objects.get()
    assert (decision.snapshot, decision.recorded_by) == (october, team["fiona"])
    page = signed_in.get(pages(october)[0]).content.decode()
    assert "Tell users two days ahead." in page and "The committee" in page
    assert "5 November 2026" in page and "Fiona Fraser" in page


def test_a_bad_decision_shows_its_errors_on_the_form(client, team, october):
    signed_in = client_of(client, team["fiona"])
    response = signed_in.post(
        pages(october)[0], {"text": " ", "decided_by": "", "decided_on": "2026-09-01"}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "field-error" in page and "errorlist-box" in page
    response = signed_in.post(
        pages(october)[0], {"text": "Ok", "decided_by": "Me", "decided_on": "2026-09-01"}
    )
    assert response.status_code == 400 and "not before" in response.content.decode()
    assert not Decision.objects.exists()


def test_readers_who_may_not_decide_see_no_form_and_are_refused(client, team, october):
    signed_in = client_of(client, team["peter"])
    assert "Record the decision" not in signed_in.get(pages(october)[0]).content.decode()
    response = signed_in.post(
        pages(october)[0], {"text": "x", "decided_by": "y", "decided_on": "2026-11-05"}
    )
    assert response.status_code == 403
    assert not Decision.objects.exists()


def test_the_report_reads_as_people_say_it_with_its_charts(client, team, october):
    # The period's last day (not the day after), the RFCs by their references (not their
    # database ids), and the trends on the screen as well as on paper.
    (change,) = Change.objects.filter(school=october.school)
    Change.objects.filter(pk=change.pk).update(number=42)  # a reference that is not its id
    page = client_of(client, team["fiona"]).get(pages(october)[0]).content.decode()
    assert "From 1 October 2026 to 31 October 2026" in page
    link = f'<a href="{reverse("changes:detail", args=[change.pk])}">RFC-0042</a>'
    assert link in page
    assert 'id="h-charts"' in page and "<svg" in page and "The trend in words" in page
    printed = client.get(pages(october)[1]).content.decode()
    assert "<td>31 Oct 2026</td>" in printed and "(exclusive)" not in printed


def test_the_print_is_a4_with_inline_svg_charts(client, team, october):
    page = client_of(client, team["fiona"]).get(pages(october)[1]).content.decode()
    assert "reports/archive-print.css" in page
    assert "<svg" in page and "<script" not in page.split("<svg", 1)[1].split("</svg>")[0]
    assert "Greenfield Primary" in page and "October 2026" in page
    assert "{#" not in page and "{%" not in page
    from django.contrib.staticfiles import finders

    css = open(finders.find("reports/archive-print.css")).read()  # noqa: SIM115
    assert "size: A4" in css


def test_the_archive_lists_newest_first_and_filters_by_period(client, school, team):
    stored(school, date(2026, 9, 1))
    stored(school, date(2026, 10, 1))
    stored(school, date(2026, 11, 2), period="week")
    signed_in = client_of(client, team["fiona"])
    page = signed_in.get(reverse("reports:archive")).content.decode()
    assert (
        page.index("Week of 2 November 2026")
        < page.index("October 2026")
        < page.index("September 2026")
    )
    page = signed_in.get(f"{reverse('reports:archive')}?school=greenfield&period=week")
    assert "Week of 2 November" in page.content.decode()
    assert "October 2026" not in page.content.decode()
    assert signed_in.get(f"{reverse('reports:archive')}?period=fortnight").status_code == 200


def test_a_person_of_two_schools_chooses_one(client, school, other_school, team):
    set_membership(team["fiona"], other_school, [Role.FINAL_APPROVER])
    signed_in = client_of(client, team["fiona"])
    page = signed_in.get(reverse("reports:archive")).content.decode()
    assert "Choose the school" in page and "Hillside Academy" in page


def test_the_archive_list_costs_the_same_for_3_and_30_snapshots(
    client, school, team, django_assert_max_num_queries
):
    signed_in = client_of(client, team["fiona"])
    for n in range(3):
        stored(school, date(2019, n + 1, 1))
    with django_assert_max_num_queries(12) as few:
        assert signed_in.get(reverse("reports:archive")).status_code == 200
    for n in range(27):
        stored(school, date(2020 + n // 12, n % 12 + 1, 1))
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert signed_in.get(reverse("reports:archive")).status_code == 200


def test_the_report_page_costs_the_same_for_few_and_many_rfcs(
    client, school, team, django_assert_max_num_queries
):
    signed_in = client_of(client, team["fiona"])
    few = stored(school, date(2026, 9, 1), ids=2)
    many = stored(school, date(2026, 10, 1), ids=400)
    for snapshot in (few, many):
        archive.record_decision(snapshot, team["fiona"], "Yes.", "Fiona", date(2026, 11, 5))
    with django_assert_max_num_queries(12) as counted:
        assert signed_in.get(pages(few)[0]).status_code == 200
    with django_assert_max_num_queries(len(counted.captured_queries)):
        assert signed_in.get(pages(many)[0]).status_code == 200


def test_a_member_of_a_school_without_reports_sees_an_empty_archive(client, school):
    head = member("hana", school, [Role.FINAL_APPROVER])
    page = client_of(client, head).get(reverse("reports:archive")).content.decode()
    assert "No report" in page
