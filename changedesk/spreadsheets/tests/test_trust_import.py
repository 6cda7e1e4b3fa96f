"""A trust's change log import (`trust_importer`): one file for all the trust's schools, a
School column naming each row's; who may; all or nothing across the schools; the schools
matched by name or slug; the mapping remembered per trust; each school's RFCs numbered and
chained in that school; the queries flat in the rows; the pages and the API."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from changedesk import cli
from changedesk.accounts import trusts
from changedesk.accounts.choices import TrustRole
from changedesk.accounts.models import User
from changedesk.accounts.services import create_school
from changedesk.changes.history import verify_history
from changedesk.changes.models import Change, ChangeEvent
from changedesk.conftest import member
from changedesk.lib.errors import InvalidAction, NotPermitted
from changedesk.notifications import worker
from changedesk.spreadsheets import importer, jobs, trust_importer, writing
from changedesk.spreadsheets.models import (
    ColumnMapping,
    ImportState,
    TrustChangeImport,
    TrustColumnMapping,
)

pytestmark = pytest.mark.django_db

HEADER = "School,Ref,Title,Date raised,Status,Raised by"


def log(*rows: str, header: str = HEADER) -> bytes:
    return "\n".join([header, *rows]).encode()


GOOD = log(
    "Greenfield Primary,OLD-1,Replace the café till,05/03/2024,Closed,olivia",
    "hillside,OLD-2,New projector in the hall,06/03/2024,Closed,oscar",
    "GREENFIELD,OLD-3,Swap the office printer,07/03/2024,Withdrawn,",
    "  Hillside   Academy ,OLD-4,Wi-Fi survey,08/03/2024,Closed,",
)


@pytest.fixture
def people(trust, team, oscar, tara):
    """Greenfield's team, Oscar at Hillside, and Tara the trust's administrator."""
    return {**team, "oscar": oscar, "tara": tara}


@pytest.fixture
def through_the_worker(monkeypatch):
    monkeypatch.setattr(trust_importer, "INLINE_MAX_BYTES", 0)


def upload_url(slug: str = "northfield") -> str:
    return reverse("spreadsheets:trust_upload", args=[slug])


def job_url(job: TrustChangeImport) -> str:
    return reverse("spreadsheets:trust_job", args=["northfield", job.pk])


def checked(trust, user: User, data: bytes) -> TrustChangeImport:
    job = trust_importer.start(trust, user, data, "trust-log.csv")
    return trust_importer.check(job, user, job.mapping)


def test_a_trust_log_of_several_schools_is_imported_into_each(people, trust, school, draft):
    """Greenfield already has RFC-0001: its imported RFCs follow on; Hillside's start at 1."""
    job = checked(trust, people["tara"], GOOD)
    assert job.mapping[0] == "school"
    assert (job.state, job.error_count, job.rows) == (ImportState.PREVIEWED, 0, 4), job.errors
    done = trust_importer.apply(job, people["tara"])
    assert done.state == ImportState.DONE, done.failure
    assert done.created_count == 4
    assert done.results == [
        {"school": "greenfield", "name": "Greenfield Primary", "count": 2, "first": 2, "last": 3},
        {"school": "hillside", "name": "Hillside Academy", "count": 2, "first": 1, "last": 2},
    ]
    greenfield = Change.objects.filter(school=school).order_by("number")
    assert [(c.number, c.title) for c in greenfield] == [
        (1, draft.title),
        (2, "Replace the café till"),
        (3, "Swap the office printer"),
    ]
    hillside = Change.objects.filter(school__slug="hillside").order_by("number")
    assert [(c.number, c.originator.username) for c in hillside] == [(1, "oscar"), (2, "tara")]
    event = ChangeEvent.objects.get(change=hillside[0])
    assert (event.kind, event.sequence, event.actor.username) == ("imported", 1, "tara")
    assert event.data["trust_import"] == job.pk and event.data["reference"] == "OLD-2"
    assert verify_history().problems == []
    assert cli.main(["verify-history"]) == 0


def test_one_bad_row_writes_nothing_in_any_school(people, trust):
    data = log(
        "greenfield,OLD-1,Replace the café till,05/03/2024,Closed,olivia",
        "hillside,OLD-2,New projector,someday,Closed,oscar",
    )
    job = checked(trust, people["tara"], data)
    assert (job.state, job.error_count) == (ImportState.PREVIEWED, 1)
    assert job.errors[0][:2] == [3, "raised"]
    assert job.preview[0]["problem"] is False and job.preview[1]["problem"] is True
    with pytest.raises(InvalidAction, match="1 problem in the file"):
        trust_importer.apply(job, people["tara"])
    assert not Change.objects.exists()


def test_a_row_bad_only_when_applied_writes_nothing_in_any_school(
    people, trust, through_the_worker
):
    job = checked(trust, people["tara"], GOOD)
    assert jobs.run_trust(timezone.now()) == 1
    job.refresh_from_db()
    assert (job.state, job.error_count) == (ImportState.PREVIEWED, 0)
    trust_importer.apply(job, people["tara"])
    # Oscar leaves between the check and the worker's apply: Hillside's row 3 is wrong now.
    User.objects.filter(username="oscar").update(is_active=False)
    assert jobs.run_trust(timezone.now()) == 1
    job.refresh_from_db()
    assert job.state == ImportState.FAILED
    assert "nothing was imported" in job.failure
    assert job.errors == [[3, "originator", job.errors[0][2]]]
    assert not Change.objects.exists() and not ChangeEvent.objects.exists()
    assert bytes(TrustChangeImport.objects.get(pk=job.pk).content) == b""


def test_unknown_blank_and_outside_schools_are_row_errors(people, trust):
    create_school("Elsewhere High", "elsewhere")
    data = log(
        "greenfield,OLD-1,Fine,05/03/2024,Closed,",
        "Narnia Primary,OLD-2,Unknown school,05/03/2024,Closed,",
        "elsewhere,OLD-3,Outside the trust,05/03/2024,Closed,",
        "Elsewhere High,OLD-4,Outside the trust by name,05/03/2024,Closed,",
        ",OLD-5,No school,05/03/2024,Closed,",
    )
    job = checked(trust, people["tara"], data)
    assert job.error_count == 4
    assert [(row, field) for row, field, _ in job.errors] == [
        (3, "school"),
        (4, "school"),
        (5, "school"),
        (6, "school"),
    ]
    messages = [message for _, _, message in job.errors]
    assert "No school of Northfield Learning Trust is called “Narnia Primary”" in messages[0]
    assert "“elsewhere”" in messages[1]
    assert messages[3] == "Name the school of Northfield Learning Trust this change was made in."


def test_a_trust_of_one_school_needs_no_school_column(school, team):
    solo = trusts.create_trust("Solo Trust", "solo")
    trusts.add_school(solo, school)
    lead = member("lena", school, [])
    trusts.set_trust_roles(solo, lead, [TrustRole.TRUST_ADMIN])
    without = checked(solo, lead, log("Fine,05/03/2024,Closed", header="Title,Date raised,Status"))
    assert (without.state, without.error_count) == (ImportState.PREVIEWED, 0), without.errors
    blank = checked(solo, lead, log(",,A blank school,05/03/2024,Closed,"))
    assert (blank.state, blank.error_count) == (ImportState.PREVIEWED, 0), blank.errors
    assert trust_importer.apply(blank, lead).state == ImportState.DONE
    assert Change.objects.get(school=school).title == "A blank school"


def test_a_mapping_without_the_school_column_is_refused_in_a_trust_of_several(people, trust):
    job = trust_importer.start(trust, people["tara"], GOOD, "trust-log.csv")
    with pytest.raises(InvalidAction) as refused:
        trust_importer.check(job, people["tara"], ["", *job.mapping[1:]])
    assert refused.value.fields == {"mapping": "Choose the column that names each change's school."}


def test_the_mapping_is_remembered_per_trust(people, trust, school, sam):
    data = log("greenfield,Fine,05/03/2024", header="Site code,Title,Date raised")
    job = trust_importer.start(trust, people["tara"], data, "a.csv")
    assert job.mapping == ["", "title", "raised"]
    trust_importer.check(job, people["tara"], ["school", "title", "raised"])
    assert TrustColumnMapping.objects.get(trust=trust).fields["site code"] == "school"
    again = trust_importer.start(trust, people["tara"], data, "b.csv")
    assert again.mapping == ["school", "title", "raised"]
    # Another trust, and a school's own import, keep their own.
    other = trusts.create_trust("Other Trust", "other")
    elsewhere = create_school("Elsewhere High", "elsewhere")
    trusts.add_school(other, elsewhere)
    trusts.set_trust_roles(other, people["tara"], [TrustRole.TRUST_ADMIN])
    assert trust_importer.start(other, people["tara"], data, "c.csv").mapping[0] == ""
    assert not ColumnMapping.objects.exists()
    assert importer.start(school, sam, data, "d.csv").mapping[0] == ""


# --- Who may. ---


@pytest.fixture
def tom(trust):
    """A trust technician of Northfield (not its administrator)."""
    person = User.objects.create_user("tom", "tom@example.org", first_name="Tom")
    trusts.set_trust_roles(trust, person, [TrustRole.TRUST_TECHNICIAN])
    return person


def api_client(user: User) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return api


API_UPLOAD = "/api/v1/spreadsheets/trusts/northfield/imports/"


@pytest.mark.parametrize(
    ("who", "status"),
    [("tara", 200), ("root", 200), ("tom", 403), ("sam", 404), ("oscar", 404), ("hilda", 404)],
)
def test_who_may_import_a_trusts_log(client, people, trust, tom, root, hilda, who, status):
    """The trust's administrator and a superuser; another trust role 403; a member of one of
    its schools, even that school's administrator, 404."""
    user = {**people, "tom": tom, "root": root, "hilda": hilda}[who]
    job = trust_importer.start(trust, people["tara"], GOOD, "trust-log.csv")
    client.force_login(user)
    assert client.get(upload_url()).status_code == status
    assert client.get(job_url(job)).status_code == status
    posted = client.post(upload_url(), {"file": SimpleUploadedFile("log.csv", GOOD)})
    assert posted.status_code == (302 if status == 200 else status)
    api = api_client(user)
    answer = api.post(API_UPLOAD, {"file": SimpleUploadedFile("log.csv", GOOD)}, format="multipart")
    assert answer.status_code == (201 if status == 200 else status), answer.content
    assert api.get(f"{API_UPLOAD}{job.pk}/").status_code == status
    # Only the person who uploaded it applies it.
    applied = client.post(reverse("spreadsheets:trust_apply", args=["northfield", job.pk]))
    assert applied.status_code == (302 if who == "tara" else 403 if status == 200 else status)
    assert api.post(f"{API_UPLOAD}{job.pk}/apply/").status_code == (
        400 if who == "tara" else 403 if status == 200 else status
    )
    if status != 200:
        with pytest.raises(NotPermitted):
            trust_importer.start(trust, user, GOOD, "x.csv")


def test_signed_out_and_other_trusts(client, people, trust):
    job = trust_importer.start(trust, people["tara"], GOOD, "trust-log.csv")
    assert client.get(upload_url())["Location"].startswith(reverse("accounts:login"))
    other = trusts.create_trust("Other Trust", "other")
    trusts.set_trust_roles(other, people["tara"], [TrustRole.TRUST_ADMIN])
    client.force_login(people["tara"])
    wrong = reverse("spreadsheets:trust_job", args=["other", job.pk])
    assert client.get(wrong).status_code == 404
    assert (
        api_client(people["tara"])
        .get(f"/api/v1/spreadsheets/trusts/other/imports/{job.pk}/")
        .status_code
        == 404
    )


def test_the_trust_page_links_to_the_import_for_its_administrator(client, people, trust, tom):
    client.force_login(people["tara"])
    page = client.get(reverse("accounts:trust", args=["northfield"])).text
    assert f'href="{upload_url()}"' in page
    client.force_login(tom)
    assert upload_url() not in client.get(reverse("accounts:trust", args=["northfield"])).text


# --- The pages, the worker and the API. ---


def test_the_pages_through_the_worker(client, people, trust, through_the_worker):
    client.force_login(people["tara"])
    response = client.post(upload_url(), {"file": SimpleUploadedFile("log.csv", GOOD)})
    job = TrustChangeImport.objects.get()
    assert response["Location"] == job_url(job)
    page = client.get(job_url(job)).text
    assert "School (its name or slug)" in page
    mapping = {f"column_{i}": field for i, field in enumerate(job.mapping)}
    assert client.post(job_url(job), mapping)["Location"] == job_url(job)
    assert "<progress" in client.get(job_url(job)).text
    assert client.get(job_url(job), HTTP_HX_REQUEST="true").status_code == 200
    assert jobs.run_trust(timezone.now()) == 1
    assert client.get(job_url(job), HTTP_HX_REQUEST="true")["HX-Refresh"] == "true"
    assert "Import 4 RFCs" in client.get(job_url(job)).text
    client.post(reverse("spreadsheets:trust_apply", args=["northfield", job.pk]))
    assert jobs.run_trust(timezone.now()) == 1
    page = client.get(job_url(job)).text
    assert "Imported into Northfield Learning Trust" in page
    assert "RFC-0001 to RFC-0002" in page
    assert Change.objects.count() == 4


def test_the_worker_runs_the_trust_imports_as_a_job_of_its_own():
    assert worker.has_job(jobs.TRUST_JOB_NAME) and worker.has_job(jobs.JOB_NAME)


def test_the_api_uploads_checks_and_applies(people, trust):
    api = api_client(people["tara"])
    data = log("greenfield,Fine,05/03/2024", "hillside,Also fine,06/03/2024",
               header="Academy code,Title,Date raised")  # fmt: skip
    answer = api.post(
        API_UPLOAD,
        {
            "file": SimpleUploadedFile("log.csv", data),
            "mapping": json.dumps({"Academy code": "school"}),
        },
        format="multipart",
    )
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert (body["trust"], body["state"], body["error_count"]) == ("northfield", "previewed", 0)
    assert body["mapping"] == {"Academy code": "school", "Title": "title", "Date raised": "raised"}
    assert "school" in body["fields_available"]
    applied = api.post(f"{API_UPLOAD}{body['id']}/apply/").json()
    assert applied["state"] == "done" and applied["created_count"] == 2
    assert [r["school"] for r in applied["results"]] == ["greenfield", "hillside"]
    bad = api.post(
        API_UPLOAD,
        {"file": SimpleUploadedFile("log.csv", data), "mapping": "{"},
        format="multipart",
    )
    assert bad.status_code == 400 and "mapping" in bad.json(), bad.json()


@pytest.mark.parametrize("rows", [20, 200])
def test_the_apply_makes_as_many_queries_for_few_rows_as_for_many(
    people, trust, through_the_worker, rows, django_assert_max_num_queries
):
    lines = [
        f"{'greenfield' if n % 2 else 'hillside'},OLD-{n},Change {n},{1 + n % 28:02d}/03/2024,"
        f"Closed,{'olivia' if n % 2 else 'oscar'}"
        for n in range(rows)
    ]
    job = checked(trust, people["tara"], log(*lines))
    jobs.run_trust(timezone.now())
    trust_importer.apply(TrustChangeImport.objects.get(pk=job.pk), people["tara"])
    # As the school import's (23), with the trust's lock and per school (two here) its
    # members, its references, its numbers and a batch's three statements. SQLite splits a
    # batch's INSERT of RFCs into statements of 999 parameters (about 40 RFCs each).
    budget = 30 if connection.vendor == "postgresql" else 30 + 2 * ((rows // 2 - 1) // 20)
    with django_assert_max_num_queries(budget):
        jobs.run_trust(timezone.now())
    job.refresh_from_db()
    assert (job.state, job.created_count) == (ImportState.DONE, rows), job.failure


def test_the_pages_show_problems_failures_and_the_schools(client, people, trust):
    client.force_login(people["tara"])
    page = client.get(upload_url()).text
    assert "Greenfield Primary (greenfield), Hillside Academy (hillside)." in page
    bad = checked(trust, people["tara"], log("Narnia,OLD-9,Lost,05/03/2024,Closed,"))
    page = client.get(job_url(bad)).text
    assert "1 problem in the file; nothing has been imported, in any school." in page
    assert "No school of Northfield Learning Trust is called “Narnia”" in page
    assert "School (its name or slug)" in page
    TrustChangeImport.objects.filter(pk=bad.pk).update(state=ImportState.FAILED, failure="Gone.")
    page = client.get(job_url(bad)).text
    assert "Not imported into Northfield Learning Trust" in page and "Gone." in page
    assert "Nothing was imported, in any school." in page


def test_the_spreadsheets_page_lists_the_trusts_one_administers(client, people, tom):
    client.force_login(people["tara"])
    page = client.get(reverse("spreadsheets:index")).text
    assert "Trusts you administer" in page and f'href="{upload_url()}"' in page
    client.force_login(tom)
    assert "Trusts you administer" not in client.get(reverse("spreadsheets:index")).text


@pytest.mark.skipif(
    not connection.features.has_select_for_update, reason="the database takes no row locks"
)
def test_the_apply_locks_the_trust_then_its_schools_in_order(people, trust, through_the_worker):
    """As a school joining or leaving the trust (trust first), and in a fixed order of the
    schools, so that it cannot deadlock against a school's own import (its one school)."""
    from django.test.utils import CaptureQueriesContext

    job = checked(trust, people["tara"], GOOD)
    jobs.run_trust(timezone.now())
    trust_importer.apply(TrustChangeImport.objects.get(pk=job.pk), people["tara"])
    with CaptureQueriesContext(connection) as done:
        jobs.run_trust(timezone.now())
    locks = [q["sql"] for q in done.captured_queries if "FOR UPDATE" in q["sql"]]
    locks = [sql for sql in locks if "accounts_" in sql.split("FROM", 1)[1][:40]]
    assert '"accounts_trust"' in locks[0]
    assert '"accounts_school"' in locks[1] and 'ORDER BY "accounts_school"."id"' in locks[1]


# --- Review (R2): the edges. ---


def test_a_name_two_schools_share_is_a_row_error_and_the_slug_is_not(people, trust, tara):
    """No row goes to one of two schools of the same name by chance."""
    twin = create_school("Greenfield Primary", "greenfield-west")
    trusts.add_school(trust, twin)
    job = checked(
        trust,
        tara,
        log(
            "Greenfield Primary,OLD-1,Which one?,05/03/2024,Closed,",
            "greenfield-west,OLD-2,This one,05/03/2024,Closed,",
        ),
    )
    assert job.error_count == 1
    assert job.errors[0][:2] == [2, "school"]
    assert "More than one school of Northfield Learning Trust is called" in job.errors[0][2]


def test_a_failure_in_a_later_school_writes_nothing_in_any(
    people, trust, through_the_worker, monkeypatch
):
    job = checked(trust, people["tara"], GOOD)
    jobs.run_trust(timezone.now())
    trust_importer.apply(TrustChangeImport.objects.get(pk=job.pk), people["tara"])
    written = writing.write
    calls = []

    def write_then_fail(plan, *args, **kwargs):
        calls.append(plan.school.slug)
        if len(calls) == 2:
            raise RuntimeError("The disk is full.")
        return written(plan, *args, **kwargs)

    monkeypatch.setattr(writing, "write", write_then_fail)
    jobs.run_trust(timezone.now())
    job.refresh_from_db()
    assert calls == ["greenfield", "hillside"]
    assert job.state == ImportState.FAILED
    assert not Change.objects.exists() and not ChangeEvent.objects.exists()


def test_an_uploader_no_longer_administrator_when_the_lock_is_had_imports_nothing(
    people, trust, through_the_worker, monkeypatch
):
    """Checked again under the trust's lock: a role taken away while the worker waited for
    it is seen."""
    job = checked(trust, people["tara"], GOOD)
    jobs.run_trust(timezone.now())
    trust_importer.apply(TrustChangeImport.objects.get(pk=job.pk), people["tara"])
    locked = trusts.lock

    def demoted_meanwhile(of):
        monkeypatch.setattr(trusts, "lock", locked)
        trusts.set_trust_roles(of, people["tara"], [TrustRole.TRUST_TECHNICIAN])
        locked(of)

    root = User.objects.create_superuser("rooty", "rooty@example.org", None)
    trusts.set_trust_roles(trust, root, [TrustRole.TRUST_ADMIN])  # the trust keeps one
    monkeypatch.setattr(trusts, "lock", demoted_meanwhile)
    jobs.run_trust(timezone.now())
    job.refresh_from_db()
    assert job.state == ImportState.FAILED
    assert "no longer an administrator" in job.failure
    assert not Change.objects.exists()


def test_a_superuser_imports_into_a_trust_of_schools(client, people, trust, root):
    client.force_login(root)
    posted = client.post(upload_url(), {"file": SimpleUploadedFile("log.csv", GOOD)})
    job = TrustChangeImport.objects.get()
    assert posted["Location"] == job_url(job)
    client.post(job_url(job), {f"column_{i}": f for i, f in enumerate(job.mapping)})
    client.post(reverse("spreadsheets:trust_apply", args=["northfield", job.pk]))
    job.refresh_from_db()
    assert (job.state, job.created_count) == (ImportState.DONE, 4), job.failure
    assert "RFC-0001 to RFC-0002" in client.get(job_url(job)).text
    assert cli.main(["verify-history"]) == 0


def test_a_trust_with_no_schools_answers_without_an_error(client, people, tara):
    empty = trusts.create_trust("Empty Trust", "empty")
    trusts.set_trust_roles(empty, tara, [TrustRole.TRUST_ADMIN])
    client.force_login(tara)
    url = reverse("spreadsheets:trust_upload", args=["empty"])
    assert "the trust has no schools yet" in client.get(url).text
    job = checked(empty, tara, GOOD)
    assert (job.state, job.error_count) == (ImportState.PREVIEWED, 4)
    assert client.get(reverse("spreadsheets:trust_job", args=["empty", job.pk])).status_code == 200
    with pytest.raises(InvalidAction):
        trust_importer.apply(job, tara)
    no_column = trust_importer.start(empty, tara, log("Fine", header="Title"), "x.csv")
    with pytest.raises(InvalidAction):
        trust_importer.check(no_column, tara, no_column.mapping)


@pytest.mark.parametrize(
    "mapping", ['{"School": "bogus"}', '{"Nope": "school"}', "[1]", '{"School": 5}', "{"]
)
def test_the_api_refuses_a_bad_mapping_or_file_with_a_400(people, trust, mapping):
    api = api_client(people["tara"])
    answer = api.post(
        API_UPLOAD,
        {"file": SimpleUploadedFile("log.csv", GOOD), "mapping": mapping},
        format="multipart",
    )
    assert answer.status_code == 400 and "mapping" in answer.json(), answer.content
    for data, name in [(b"\x00garbage", "log.csv"), (b"PK\x03\x04junk", "log.xlsx")]:
        answer = api.post(API_UPLOAD, {"file": SimpleUploadedFile(name, data)}, format="multipart")
        assert answer.status_code == 400 and "file" in answer.json(), answer.content
    huge = 2**63
    assert api.get(f"{API_UPLOAD}{huge}/").status_code == 404
    assert api.post(f"{API_UPLOAD}{huge - 1}/apply/").status_code == 404
