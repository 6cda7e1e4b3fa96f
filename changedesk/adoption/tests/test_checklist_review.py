"""The review checklist's page and API: who reads it and who records a review, bad input,
what a review stores, the reminder when the next one falls due (mailed once), and query
counts that do not grow with the number of RFCs."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from changedesk.accounts.choices import Role
from changedesk.adoption import checklist
from changedesk.adoption.models import Adoption, ChecklistReview
from changedesk.changes.services import create_change
from changedesk.conftest import REQUEST, advance, member
from changedesk.lib.days import today_in
from changedesk.notifications.models import OutboxMessage

pytestmark = pytest.mark.django_db

PAGE = reverse("adoption:checklist")
RECORD = reverse("adoption:checklist_record")
ANSWERS = {key: "yes" for key in checklist.SCHOOL_KEYS}


def api_url(school) -> str:
    return f"/api/v1/adoption/{school.slug}/review/"


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def form_data(**extra):
    data = {f"answer_{k}": v for k, v in ANSWERS.items()}
    data.update({"note": "Agreed to tell users a week ahead.", "next_in_months": "6"})
    data.update(extra)
    return data


# --- Who may. ---


def test_anonymous_is_sent_to_sign_in(client, school):
    assert client.get(PAGE).status_code == 302
    assert client.post(RECORD, form_data()).status_code == 302
    assert APIClient().get(api_url(school)).status_code in (401, 403)
    assert ChecklistReview.objects.count() == 0


def test_an_outsider_gets_404(client, school, team, oscar):
    client.force_login(oscar)
    assert client.get(PAGE, {"school": school.slug}).status_code == 404
    assert client.post(f"{RECORD}?school={school.slug}", form_data()).status_code == 404
    assert api(oscar).get(api_url(school)).status_code == 404
    assert api(oscar).post(api_url(school), {"answers": ANSWERS}, format="json").status_code == 404
    assert ChecklistReview.objects.count() == 0


@pytest.mark.parametrize(
    ("who", "may"),
    [("sam", True), ("ian", True), ("fiona", True), ("olivia", False), ("peter", False),
     ("ivan", False)],
)  # fmt: skip
def test_the_permission_matrix(client, school, team, who, may):
    person = team[who]
    client.force_login(person)
    page = client.get(PAGE)
    assert page.status_code == 200
    assert ("Record the review" in page.content.decode()) is may
    response = client.post(RECORD, form_data())
    assert response.status_code == (302 if may else 403)
    answer = api(person).post(api_url(school), {"answers": ANSWERS}, format="json")
    assert answer.status_code == (201 if may else 403)
    assert ChecklistReview.objects.count() == (2 if may else 0)
    assert api(person).get(api_url(school)).json()["may_record"] is may


def test_a_superuser_records_anywhere(school, team, root):
    assert api(root).post(api_url(school), {"answers": ANSWERS}, format="json").status_code == 201


# --- Recording a review. ---


def test_a_review_stores_each_item_as_judged_with_the_schools_answers(client, school, team):
    client.force_login(team["sam"])
    answers = {**ANSWERS, "understood": "partly", "authorised": "no"}
    response = api(team["sam"]).post(
        api_url(school),
        {
            "answers": answers,
            "notes": {"understood": "Ivan is unsure of the fallback step.", "roles": "Cora next"},
            "note": "Review again after the summer.",
            "next_in_months": 3,
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    review = ChecklistReview.objects.get()
    today = today_in(school)
    assert review.reviewed_on == today
    assert review.next_due == checklist.months_after(today, 3)
    assert review.reviewed_by == team["sam"]
    assert review.note == "Review again after the summer."
    assert set(review.items) == set(checklist.KEYS)
    assert review.items["understood"]["answer"] == "partly"
    assert review.items["understood"]["passed"] is None
    assert review.items["understood"]["note"] == "Ivan is unsure of the fallback step."
    assert review.items["authorised"]["passed"] is False
    assert review.items["new_builds"]["passed"] is True
    # The data's judgement as it stood: no communicator yet.
    assert review.items["roles"]["by"] == "data"
    assert review.items["roles"]["passed"] is False
    assert review.items["roles"]["note"] == "Cora next"
    assert response.json()["items"]["roles"]["passed"] is False
    page = client.get(reverse("adoption:checklist_review", args=[review.pk])).content.decode()
    assert "Ivan is unsure of the fallback step." in page
    assert "The school answered: <strong>partly</strong>" in page


def test_the_default_next_review_is_six_months(school, team):
    api(team["ian"]).post(api_url(school), {"answers": ANSWERS}, format="json")
    review = ChecklistReview.objects.get()
    assert review.next_due == checklist.months_after(review.reviewed_on, 6)


def test_months_after_keeps_within_the_month():
    assert checklist.months_after(date(2026, 8, 31), 6) == date(2027, 2, 28)
    assert checklist.months_after(date(2026, 11, 30), 3) == date(2027, 2, 28)
    assert checklist.months_after(date(2026, 3, 15), -3) == date(2025, 12, 15)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"answers": "yes"},
        {"answers": {**ANSWERS, "understood": "maybe"}},
        {"answers": {k: v for k, v in ANSWERS.items() if k != "authorised"}},
        {"answers": {**ANSWERS, "made_up": "yes"}},
        {"answers": ANSWERS, "next_in_months": 5},
        {"answers": ANSWERS, "next_in_months": "six"},
        {"answers": ANSWERS, "notes": ["a"]},
        {"answers": ANSWERS, "notes": {"understood": 7}},
        {"answers": ANSWERS, "notes": {"nope": "x"}},
        {"answers": ANSWERS, "note": "x" * (checklist.MOST_NOTE + 1)},
        {"answers": ANSWERS, "reviewed_on": "2020-01-01"},
    ],
)
def test_bad_input_is_a_400_and_writes_nothing(school, team, body):
    response = api(team["sam"]).post(api_url(school), body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["detail"]
    assert ChecklistReview.objects.count() == 0


def test_malformed_json_is_a_400(school, team):
    response = api(team["sam"]).post(api_url(school), "{not json", content_type="application/json")
    assert response.status_code == 400
    assert ChecklistReview.objects.count() == 0


def test_the_form_shows_its_errors_by_the_fields(client, school, team):
    client.force_login(team["sam"])
    data = form_data(answer_understood="", next_in_months="7")
    response = client.post(RECORD, data)
    assert response.status_code == 400
    page = response.content.decode()
    assert "Answer yes, no or partly." in page
    assert "Select a valid choice" in page
    assert ChecklistReview.objects.count() == 0


def test_past_reviews_are_listed_newest_first(client, school, team):
    for _ in range(2):
        api(team["sam"]).post(api_url(school), {"answers": ANSWERS}, format="json")
    client.force_login(team["olivia"])
    page = client.get(PAGE).content.decode()
    assert page.count("Review of ") == 2
    body = api(team["olivia"]).get(api_url(school)).json()
    assert [r["id"] for r in body["reviews"]] == sorted(
        ChecklistReview.objects.values_list("pk", flat=True), reverse=True
    )
    assert "items" in body["reviews"][0] and "items" not in body["reviews"][1]


def test_another_schools_review_is_a_404(client, school, team, oscar):
    api(team["sam"]).post(api_url(school), {"answers": ANSWERS}, format="json")
    review = ChecklistReview.objects.get()
    client.force_login(oscar)
    assert client.get(reverse("adoption:checklist_review", args=[review.pk])).status_code == 404


def test_the_api_gives_each_item_with_what_fails_it(school, team):
    body = api(team["olivia"]).get(api_url(school)).json()
    assert body["school"] == school.slug
    items = {i["key"]: i for i in body["items"]}
    assert set(items) == set(checklist.KEYS)
    assert items["trained"]["passed"] is False
    assert {f["label"] for f in items["trained"]["failing"]} >= {"Olivia Okafor"}
    assert body["due"] is False and body["next_due"] is None


# --- When the next review is due. ---


def _review(school, user, due: date, months: int = 6) -> ChecklistReview:
    return ChecklistReview.objects.create(
        school=school,
        reviewed_on=checklist.months_after(due, -months),
        items={},
        next_due=due,
        reviewed_by=user,
        created_at=timezone.now(),
    )


def test_the_page_says_when_the_next_review_is_due(client, school, team):
    client.force_login(team["olivia"])
    _review(school, team["sam"], today_in(school) + timedelta(days=30))
    page = client.get(PAGE).content.decode()
    assert "The next review is due on" in page
    _review(school, team["sam"], today_in(school) - timedelta(days=1), months=3)
    page = client.get(PAGE).content.decode()
    assert "A review is due" in page
    assert "Ask the school administrator or an approver" in page


def test_the_reminder_is_mailed_once_to_each_administrator(school, team):
    second = member("sara", school, [Role.SCHOOL_ADMIN])
    now = timezone.now()
    review = _review(school, team["ian"], today_in(school, now) + timedelta(days=1))
    assert checklist.remind_due_reviews(now) == 0
    later = now + timedelta(days=2)
    assert checklist.remind_due_reviews(later) == 2
    assert checklist.remind_due_reviews(later) == 0
    assert checklist.remind_due_reviews(later + timedelta(days=7)) == 0
    mails = OutboxMessage.objects.filter(template=checklist.REMINDER_TEMPLATE)
    assert {m.recipient for m in mails} == {team["sam"], second}
    assert all(f"r{review.pk}" in m.key for m in mails)
    # A new review that falls due later is reminded of again, once.
    _review(school, team["ian"], today_in(school, later) + timedelta(days=10))
    assert checklist.remind_due_reviews(later + timedelta(days=5)) == 0
    assert checklist.remind_due_reviews(later + timedelta(days=11)) == 2


def test_the_reminder_mail_renders(school, team):
    from changedesk.notifications.email import render

    now = timezone.now()
    _review(school, team["ian"], today_in(school, now) - timedelta(days=1))
    checklist.remind_due_reviews(now)
    message = OutboxMessage.objects.get(template=checklist.REMINDER_TEMPLATE)
    mail = render(message.template, message.context, school.timezone)
    assert "Greenfield Primary" in mail.subject and "review is due" in mail.subject
    assert f"/getting-started/review/?school={school.slug}" in mail.text
    assert "Open the review checklist" in mail.html


def test_a_school_live_six_months_without_a_review_is_reminded(school, team):
    now = timezone.now()
    Adoption.objects.create(school=school, live_at=now - timedelta(days=190))
    assert checklist.remind_due_reviews(now) == 1
    assert checklist.remind_due_reviews(now) == 0


def test_the_worker_runs_the_reminder(school, team):
    from changedesk.notifications import worker

    assert worker._jobs["adoption-review-due"] is checklist.remind_due_reviews


# --- Queries. ---


def test_the_page_and_api_cost_the_same_queries_however_many_rfcs(
    client, school, team, draft, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    api(team["sam"]).post(api_url(school), {"answers": ANSWERS}, format="json")
    client.force_login(team["sam"])
    advance(draft, team, "approved")

    def counts() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as page:
            assert client.get(PAGE).status_code == 200
        with CaptureQueriesContext(connection) as answer:
            assert api(team["sam"]).get(api_url(school)).status_code == 200
        return len(page), len(answer)

    counts()
    few = counts()
    for n in range(4):
        advance(create_change(school, team["olivia"], {**REQUEST, "title": f"C{n}"}), team,
                "approved")  # fmt: skip
    assert counts() == few
    assert few[0] <= 30
    with django_assert_max_num_queries(30):
        client.get(PAGE)
    assert json.loads(api(team["sam"]).get(api_url(school)).content)["school"] == school.slug
