"""A change log import through the worker: uploaded, checked with progress, previewed with
each row's problems, confirmed, applied with progress, all or nothing; claims, leases and
crashed workers; the page's progress bar and the API's progress fields; the queries an
apply makes, flat in the number of rows."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from changedesk.changes.history import verify_history
from changedesk.changes.models import Change, ChangeEvent
from changedesk.lib import jobs as lib_jobs
from changedesk.lib.errors import NotPermitted
from changedesk.notifications import worker
from changedesk.spreadsheets import importer, jobs, reading, writing
from changedesk.spreadsheets.models import ChangeImport, ImportState

pytestmark = pytest.mark.django_db

UPLOAD = reverse("spreadsheets:upload", args=["greenfield"])
HTMX = {"HTTP_HX_REQUEST": "true"}


def log(rows: int, start: int = 0, bad: tuple[int, ...] = (), who: str = "sam") -> bytes:
    """A change log of `row_checks` changes; those numbered in `bad` have a date that is not one."""
    lines = ["Ref,Title,Date raised,Status,Raised by"]
    for n in range(start, start + rows):
        raised = "someday" if n in bad else f"{1 + n % 28:02d}/03/2024"
        lines.append(f"OLD-{n},Change {n},{raised},Closed,{who if n % 3 else 'olivia'}")
    return "\n".join(lines).encode()


def job_url(job: ChangeImport) -> str:
    return reverse("spreadsheets:job", args=["greenfield", job.pk])


@pytest.fixture
def through_the_worker(monkeypatch):
    """Every file is left to the worker, however small."""
    monkeypatch.setattr(importer, "INLINE_MAX_BYTES", 0)


def queued(team, school, data: bytes) -> ChangeImport:
    """A file uploaded by sam, its columns chosen, waiting for the worker."""
    job = importer.start(school, team["sam"], data, "log.csv")
    job = importer.check(job, team["sam"], job.mapping)
    assert job.state == ImportState.QUEUED
    return job


def checked(team, school, data: bytes) -> ChangeImport:
    job = queued(team, school, data)
    assert jobs.run(timezone.now()) == 1
    job.refresh_from_db()
    assert job.state == ImportState.PREVIEWED, job.failure
    return job


def test_a_change_log_goes_through_the_worker_with_a_progress_bar(client, team, through_the_worker):
    client.force_login(team["sam"])
    response = client.post(UPLOAD, {"file": SimpleUploadedFile("log.csv", log(30, bad=(4, 9)))})
    job = ChangeImport.objects.get()
    assert response["Location"] == job_url(job)
    assert job.state == ImportState.UPLOADED and job.rows == 30
    mapping = {f"column_{i}": field for i, field in enumerate(job.mapping)}
    assert client.post(job_url(job), mapping)["Location"] == job_url(job)
    job.refresh_from_db()
    assert (job.state, job.phase) == (ImportState.QUEUED, "Waiting for the worker to check it")
    page = client.get(job_url(job)).text
    assert "<progress" in page and 'hx-trigger="every 1s"' in page
    assert "Waiting for the worker to check it" in page
    assert "Which field each column holds" not in page  # not while the worker has it
    # What htmx asks for every second: the progress alone.
    poll = client.get(job_url(job), **HTMX)
    assert poll.status_code == 200
    assert "<progress" in poll.text and "<html" not in poll.text

    assert jobs.run(timezone.now()) == 1
    job.refresh_from_db()
    assert (job.state, job.rows, job.error_count) == (ImportState.PREVIEWED, 30, 2)
    assert (job.progress_done, job.progress_total, job.attempts) == (60, 60, 1)
    assert job.lease_until is None and job.checked_at is not None
    # Each row's problem, by row (as the spreadsheet numbers them) and field.
    assert [(row, field) for row, field, _ in job.errors] == [(6, "raised"), (11, "raised")]
    assert [row["number"] for row in job.preview if row["problem"]] == [6, 11]
    # The work is over: htmx reloads the page, which shows the preview.
    over = client.get(job_url(job), **HTMX)
    assert (over.status_code, over["HX-Refresh"]) == (204, "true")
    page = client.get(job_url(job)).text
    assert "2 problems in the file" in page and "<progress" not in page
    assert "“someday” is not a date" in page
    refused = client.post(reverse("spreadsheets:apply", args=["greenfield", job.pk]))
    assert refused.status_code == 302
    job.refresh_from_db()
    assert job.state == ImportState.PREVIEWED and not Change.objects.exists()

    # A good file: confirmed, then applied by the worker.
    client.post(UPLOAD, {"file": SimpleUploadedFile("log.csv", log(30, start=100))})
    good = ChangeImport.objects.latest("id")
    client.post(job_url(good), {f"column_{i}": f for i, f in enumerate(good.mapping)})
    jobs.run(timezone.now())
    good.refresh_from_db()
    assert (good.state, good.error_count) == (ImportState.PREVIEWED, 0)
    assert "Import 30 RFCs" in client.get(job_url(good)).text
    client.post(reverse("spreadsheets:apply", args=["greenfield", good.pk]))
    good.refresh_from_db()
    assert (good.state, good.progress_done, good.progress_total) == ("applying", 0, 90)
    page = client.get(job_url(good)).text
    assert "Waiting for the worker to import it" in page and "<progress" in page
    assert not Change.objects.exists()  # nothing until the worker applies it

    assert jobs.run(timezone.now()) == 1
    good.refresh_from_db()
    assert (good.state, good.progress_done, good.progress_total) == ("done", 90, 90)
    assert (good.created_count, good.first_number, good.last_number) == (30, 1, 30)
    assert bytes(ChangeImport.objects.get(pk=good.pk).content) == b""
    assert Change.objects.filter(originator=team["olivia"]).count() == 10
    assert ChangeEvent.objects.filter(kind="imported", actor=team["sam"]).count() == 30
    assert verify_history().problems == []
    assert "30 RFCs imported, RFC-0001 to RFC-0030" in client.get(job_url(good)).text
    assert jobs.run(timezone.now()) == 0  # nothing left to do


def test_the_worker_runs_the_job_registered_through_the_seam(team, school, through_the_worker):
    # Registered by the app's AppConfig (spreadsheets/rfc.py), as every worker job is.
    assert worker.has_job(jobs.JOB_NAME)
    job = queued(team, school, log(3))
    worker.run(once=True)
    job.refresh_from_db()
    assert job.state == ImportState.PREVIEWED
    importer.apply(job, team["sam"])
    worker.run(once=True)
    job.refresh_from_db()
    assert job.state == ImportState.DONE
    assert Change.objects.count() == 3


def test_progress_is_reported_as_the_work_goes(team, school, through_the_worker, monkeypatch):
    monkeypatch.setattr(writing, "BATCH", 10)
    monkeypatch.setattr("changedesk.spreadsheets.row_checks.REPORT_EVERY", 10)
    monkeypatch.setattr(reading, "TICK_ROWS", 10)
    monkeypatch.setattr(lib_jobs.JobProgress, "REPORT_SECONDS", 0)
    reports: list[tuple[str, int, int]] = []
    store = lib_jobs.JobProgress.store

    def recorded(self, values):
        assert values["lease_until"] > timezone.now()  # each report renews the lease
        reports.append((values["phase"], values["progress_done"], values["progress_total"]))
        store(self, values)

    monkeypatch.setattr(lib_jobs.JobProgress, "store", recorded)
    job = checked(team, school, log(45))
    # Reading the file (its rows counted at the upload), then checking its rows.
    assert len(reports) >= 8
    assert all(total == 90 for _, _, total in reports)
    dones = [done for _, done, _ in reports]
    assert dones == sorted(dones) and dones[-1] == 90
    assert 45 in dones

    reports.clear()
    importer.apply(job, team["sam"])
    jobs.run(timezone.now())
    job.refresh_from_db()
    assert job.state == ImportState.DONE, job.failure
    phases = [phase for phase, _, _ in reports]
    assert phases.index("Saving the RFCs") > phases.index("Checking the rows again")
    assert all(total == 135 for _, _, total in reports)  # read, check again, save
    dones = [done for _, done, _ in reports]
    assert dones == sorted(dones) and dones[-1] == 135
    saving = [done for phase, done, _ in reports if phase == "Saving the RFCs"]
    assert saving == [90, 100, 110, 120, 130, 135]  # one report a batch of 10


@pytest.mark.django_db(transaction=True)
def test_progress_inside_the_apply_is_seen_before_it_commits(team, school):
    """PostgreSQL: through a connection of its own; SQLite: through a file."""
    job = importer.start(school, team["sam"], log(3), "log.csv")
    ChangeImport.objects.filter(pk=job.pk).update(state=ImportState.APPLYING)
    claimed = jobs.claim(timezone.now())
    assert claimed is not None and claimed.pk == job.pk
    progress = lib_jobs.JobProgress(importer.QUEUE, claimed, "Saving the RFCs", total=10)
    try:
        with transaction.atomic():
            progress(4, 10)
            seen = importer.live_progress(ChangeImport.objects.light().get(pk=job.pk))
            assert (seen.phase, seen.progress_done, seen.progress_total) == (
                "Saving the RFCs",
                4,
                10,
            )
            # Through the API as well.
            token = Token.objects.create(user=team["sam"])
            api = APIClient()
            api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
            body = api.get(f"/api/v1/spreadsheets/imports/{job.pk}/").json()
            assert (body["phase"], body["progress_done"], body["percent"]) == (
                "Saving the RFCs",
                4,
                40,
            )
    finally:
        progress.close()
    # Another worker's report (an older claim) is not shown.
    ChangeImport.objects.filter(pk=job.pk).update(attempts=5, progress_done=0)
    assert importer.live_progress(ChangeImport.objects.light().get(pk=job.pk)).progress_done == 0


def test_a_crashed_workers_import_is_claimed_again_then_fails_after_three(
    team, school, through_the_worker
):
    job = queued(team, school, log(3))
    now = timezone.now()
    first = jobs.claim(now)
    assert first is not None and (first.state, first.attempts) == ("checking", 1)
    assert jobs.claim(now) is None  # another worker passes it by while the lease holds
    # The worker died: when its lease ends another takes it, up to three times.
    later = now + timedelta(seconds=importer.LEASE_SECONDS + 1)
    second = jobs.claim(later)
    assert second is not None and second.attempts == 2
    # The first worker wakes up: it can no longer record anything.
    importer.check_job(first)
    job.refresh_from_db()
    assert (job.state, job.attempts) == ("checking", 2)
    # The second finishes the check.
    importer.check_job(second)
    job.refresh_from_db()
    assert (job.state, job.rows) == ("previewed", 3)

    importer.apply(job, team["sam"])
    for attempt in range(1, 4):
        at = later + timedelta(seconds=attempt * (importer.LEASE_SECONDS + 1))
        assert jobs.claim(at).attempts == attempt  # claimed, then its worker dies
    assert jobs.claim(later + timedelta(seconds=5 * (importer.LEASE_SECONDS + 1))) is None
    job.refresh_from_db()
    assert job.state == ImportState.FAILED
    assert "The worker stopped while working on the file, 3 times" in job.failure
    assert not Change.objects.exists()


def test_a_crashed_apply_is_applied_once_by_the_next_worker(team, school, through_the_worker):
    job = checked(team, school, log(12))
    importer.apply(job, team["sam"])
    dead = jobs.claim(timezone.now())
    assert dead is not None and dead.state == ImportState.APPLYING
    # Its lease runs out; the next pass takes the import over and applies it.
    assert jobs.run(timezone.now() + timedelta(seconds=importer.LEASE_SECONDS + 1)) == 1
    job.refresh_from_db()
    assert (job.state, job.attempts, job.created_count) == (ImportState.DONE, 2, 12)
    # The dead worker comes back: its apply is fenced out and rolled back.
    importer.apply_job(dead)
    job.refresh_from_db()
    assert job.state == ImportState.DONE
    assert Change.objects.count() == 12


def test_an_apply_taken_over_by_another_worker_is_rolled_back(team, school, through_the_worker):
    job = checked(team, school, log(5))
    importer.apply(job, team["sam"])
    mine = jobs.claim(timezone.now())
    assert mine is not None
    ChangeImport.objects.filter(pk=job.pk).update(attempts=mine.attempts + 1)  # another's now
    importer.apply_job(mine)
    job.refresh_from_db()
    assert job.state == ImportState.APPLYING
    assert not Change.objects.exists() and not ChangeEvent.objects.exists()


def test_a_row_gone_bad_since_the_check_fails_all_of_them(team, school, through_the_worker):
    job = checked(team, school, log(30))
    team["olivia"].memberships.all().delete()  # every third row names her
    importer.apply(job, team["sam"])
    jobs.run(timezone.now())
    job.refresh_from_db()
    assert job.state == ImportState.FAILED
    assert "changed since the file was checked" in job.failure
    assert [(row, field) for row, field, _ in job.errors][:3] == [
        (2, "originator"),
        (5, "originator"),
        (8, "originator"),
    ]
    assert job.error_count == 10
    assert not Change.objects.exists() and not ChangeEvent.objects.exists()
    assert bytes(ChangeImport.objects.get(pk=job.pk).content) == b""


def test_an_error_in_the_middle_of_the_write_keeps_nothing(
    team, school, through_the_worker, monkeypatch
):
    monkeypatch.setattr(writing, "BATCH", 10)
    job = checked(team, school, log(35))
    importer.apply(job, team["sam"])
    made = []
    event = writing._event

    def fails_in_the_third_batch(change, row, *args):
        made.append(row.number)
        if len(made) == 25:
            raise RuntimeError("the disk is full")
        return event(change, row, *args)

    monkeypatch.setattr(writing, "_event", fails_in_the_third_batch)
    jobs.run(timezone.now())
    assert len(made) == 25  # two batches of RFCs and events were written, then
    job.refresh_from_db()
    assert job.state == ImportState.FAILED
    assert "Something went wrong" in job.failure
    # ... rolled back: none of them is kept.
    assert not Change.objects.exists() and not ChangeEvent.objects.exists()


def test_only_the_uploader_confirms_and_only_while_an_administrator(
    team, school, root, through_the_worker
):
    job = checked(team, school, log(4))
    with pytest.raises(NotPermitted, match="Only the person who uploaded"):
        importer.apply(job, root)  # an administrator everywhere, but not who uploaded it
    importer.apply(job, team["sam"])
    from changedesk.accounts.choices import Role
    from changedesk.accounts.services import set_membership

    set_membership(team["sam"], school, [Role.VIEWER])
    jobs.run(timezone.now())
    job.refresh_from_db()
    assert job.state == ImportState.FAILED
    assert "no longer an administrator" in job.failure
    assert not Change.objects.exists()


def test_another_administrator_sees_the_preview_but_cannot_confirm(
    client, team, school, root, through_the_worker
):
    job = checked(team, school, log(3))
    client.force_login(root)
    page = client.get(job_url(job))
    assert page.status_code == 200
    assert "Only Sam Singh may import it" in page.text
    assert "Which field each column holds" not in page.text
    apply = reverse("spreadsheets:apply", args=["greenfield", job.pk])
    assert client.post(apply).status_code == 403
    mapping = {f"column_{i}": field for i, field in enumerate(job.mapping)}
    assert client.post(job_url(job), mapping).status_code == 403
    job.refresh_from_db()
    assert job.state == ImportState.PREVIEWED


def test_the_api_gives_the_state_and_the_progress(team, through_the_worker):
    token = Token.objects.create(user=team["sam"])
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    upload = SimpleUploadedFile("log.csv", log(8, bad=(2,)))
    body = api.post(
        "/api/v1/spreadsheets/imports/",
        {"school": "greenfield", "file": upload, "mapping": json.dumps({"Ref": "reference"})},
        format="multipart",
    ).json()
    assert (body["state"], body["phase"]) == ("queued", "Waiting for the worker to check it")
    assert (body["progress_done"], body["progress_total"], body["percent"]) == (0, 0, 0)
    assert body["mapping"]["Ref"] == "reference"
    url = f"/api/v1/spreadsheets/imports/{body['id']}/"
    # Not checked yet: nothing to apply.
    assert api.post(f"{url}apply/").status_code == 400
    jobs.run(timezone.now())
    body = api.get(url).json()
    assert (body["state"], body["error_count"], body["percent"]) == ("previewed", 1, 100)
    assert body["errors"][0][:2] == [4, "raised"]
    assert api.post(f"{url}apply/").status_code == 400  # a row has a problem
    assert not Change.objects.exists()


def test_files_left_unchecked_or_unconfirmed_are_let_go(team, school, through_the_worker):
    uploaded = importer.start(school, team["sam"], log(2), "log.csv")
    previewed = checked(team, school, log(2, start=10))
    assert jobs.run(timezone.now() + timedelta(days=jobs.UNCONFIRMED_DAYS - 1)) == 0
    jobs.run(timezone.now() + timedelta(days=jobs.UNCONFIRMED_DAYS, minutes=1))
    for job in (uploaded, previewed):
        job = ChangeImport.objects.get(pk=job.pk)
        assert (job.state, bytes(job.content)) == (ImportState.FAILED, b"")
        assert "Not confirmed within 7 days" in job.failure


@pytest.mark.parametrize("rows", [20, 200])
def test_the_apply_makes_as_many_queries_for_few_rows_as_for_many(
    team, school, through_the_worker, rows, django_assert_max_num_queries
):
    job = checked(team, school, log(rows))
    importer.apply(job, team["sam"])
    # The previews to let go; the claim; the school, the uploader and their roles; the lock;
    # the file; the members; the references; the numbers; per batch (of up to BATCH rows)
    # the RFCs, their dates and their events; the result: 23 for either size on PostgreSQL.
    # SQLite splits a batch's INSERT of RFCs into statements of its 999 parameters (about
    # 40 RFCs each): 8 more for 200 rows.
    budget = 23 if connection.vendor == "postgresql" else 23 + (rows - 1) // 20
    with django_assert_max_num_queries(budget):
        jobs.run(timezone.now())
    job.refresh_from_db()
    assert (job.state, job.created_count) == (ImportState.DONE, rows)


def test_the_import_pages_make_few_queries(
    client, team, school, through_the_worker, django_assert_max_num_queries
):
    client.force_login(team["sam"])
    job = queued(team, school, log(300))
    # The session, the user and their memberships, the school, the import (without its file).
    with django_assert_max_num_queries(8):
        assert client.get(job_url(job), **HTMX).status_code == 200
    jobs.run(timezone.now())
    with django_assert_max_num_queries(8):
        page = client.get(job_url(job))
    assert "100 more not shown" in page.text


def test_lib_jobs_keeps_each_queues_progress_files_apart(team, school):
    """The item import and the change log import number their jobs apart: their progress
    files are in folders of their own."""
    from changedesk.configuration import importer as item_importer

    assert lib_jobs.progress_file(importer.QUEUE, 1) != lib_jobs.progress_file(
        item_importer.QUEUE, 1
    )
