"""A large item import through the worker: queued, checked with progress, previewed,
confirmed, applied with progress, all or nothing; claims, leases and crashed workers; the
queries an apply makes, flat in the number of rows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError, IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from changedesk.accounts.choices import Role
from changedesk.accounts.services import set_membership
from changedesk.changes import extensions
from changedesk.configuration import importer, jobs, views
from changedesk.configuration.models import ConfigurationItem, ImportState, ItemImport
from changedesk.notifications import worker

pytestmark = pytest.mark.django_db

URL = reverse("configuration:import", args=["greenfield"])
HTMX = {"HTTP_HX_REQUEST": "true"}


def csv_text(rows: int, start: int = 0, users: int = 1) -> str:
    lines = ["name,kind,identifier,location,owner,users_affected"]
    lines += [
        f"PC {n:05d},device_group,PC-{n:05d},Room {n % 7},{'olivia' if n % 5 == 0 else ''},{users}"
        for n in range(start, start + rows)
    ]
    return "\n".join(lines) + "\n"


def existing(school, count: int, users: int = 1) -> None:
    """`count` items as the file of the same numbers would add them."""
    ConfigurationItem.objects.bulk_create(
        ConfigurationItem(
            school=school,
            name=f"PC {n:05d}",
            kind="device_group",
            identifier=f"PC-{n:05d}",
            location=f"Room {n % 7}",
            users_affected=users,
        )
        for n in range(count)
    )


def job_url(job: ItemImport) -> str:
    return reverse("configuration:import_job", args=[job.school.slug, job.pk])


@pytest.fixture
def through_the_worker(monkeypatch):
    """Every file is left to the worker, however small."""
    monkeypatch.setattr(views, "INLINE_MAX_BYTES", 0)


@pytest.fixture
def admin_client(client, team):
    client.force_login(team["sam"])
    return client


def upload(client, text: str) -> ItemImport:
    data = SimpleUploadedFile("items.csv", text.encode(), content_type="text/csv")
    response = client.post(URL, {"file": data})
    assert response.status_code == 302, response.content.decode()[:2000]
    job = ItemImport.objects.latest("id")
    assert response["Location"] == job_url(job)
    return job


def started(team, school, text: str) -> ItemImport:
    """An import uploaded by sam and checked by the worker, ready to confirm."""
    job = importer.start(school, team["sam"], text, "items.csv")
    assert jobs.run(timezone.now()) == 1
    job.refresh_from_db()
    assert job.state == ImportState.PREVIEWED and not job.error_count, job.failure
    return job


def test_a_file_goes_through_the_worker_with_a_progress_bar(
    admin_client, team, school, through_the_worker
):
    existing(school, 10, users=1)
    job = upload(admin_client, csv_text(40, users=2))
    assert job.state == ImportState.QUEUED
    page = admin_client.get(job_url(job)).content.decode()
    assert "<progress" in page and 'hx-trigger="every 1s"' in page
    assert "Waiting for the worker to check it" in page
    # What htmx asks for every second: the progress alone.
    poll = admin_client.get(job_url(job), **HTMX)
    assert poll.status_code == 200
    assert "<progress" in poll.content.decode() and "<html" not in poll.content.decode()

    assert jobs.run(timezone.now()) == 1
    job.refresh_from_db()
    assert (job.state, job.rows, job.created_count, job.updated_count) == ("previewed", 40, 30, 10)
    assert (job.progress_done, job.progress_total, job.attempts) == (40, 40, 1)
    assert job.lease_until is None and job.checked_at is not None
    # The work is over: htmx reloads the page, which shows the preview.
    over = admin_client.get(job_url(job), **HTMX)
    assert (over.status_code, over["HX-Refresh"]) == (204, "true")
    page = admin_client.get(job_url(job)).content.decode()
    assert "30 to add, 10 to update, 0 unchanged" in page and "<progress" not in page
    assert ConfigurationItem.objects.count() == 10

    confirmed = admin_client.post(job_url(job))
    assert confirmed["Location"] == job_url(job)
    job.refresh_from_db()
    assert (job.state, job.progress_done, job.progress_total) == ("applying", 0, 80)
    assert "Waiting for the worker to import it" in admin_client.get(job_url(job)).content.decode()
    assert ConfigurationItem.objects.count() == 10  # nothing until the worker applies it

    assert jobs.run(timezone.now()) == 1
    job.refresh_from_db()
    assert (job.state, job.progress_done, job.progress_total) == ("done", 80, 80)
    assert job.finished_at is not None and job.lease_until is None
    assert ConfigurationItem.objects.count() == 40
    assert set(ConfigurationItem.objects.values_list("users_affected", flat=True)) == {2}
    assert ConfigurationItem.objects.get(identifier="PC-00015").owner == team["olivia"]
    page = admin_client.get(job_url(job)).content.decode()
    assert "30 added, 10 updated, 0 unchanged" in page
    assert jobs.run(timezone.now()) == 0  # nothing left to do


@pytest.fixture
def registered():
    """The job as the worker runs it, registered through the RFC's seam as an app above the
    catalogue registers it (the catalogue cannot reach the worker itself)."""
    extension = extensions.Extension(
        app="configuration.imports", jobs=(extensions.Job(jobs.JOB_NAME, jobs.run),)
    )
    already = worker.has_job(jobs.JOB_NAME)
    if not already:
        extensions.register(extension)
    yield
    if not already:
        extensions.unregister(extension.app)


def test_the_worker_runs_imports_on_its_pass(team, school, registered):
    job = importer.start(school, team["sam"], csv_text(3), "items.csv")
    worker.run(once=True)
    job.refresh_from_db()
    assert job.state == ImportState.PREVIEWED
    importer.confirm(job.pk, team["sam"])
    worker.run(once=True)
    job.refresh_from_db()
    assert job.state == ImportState.DONE
    assert ConfigurationItem.objects.count() == 3


def test_progress_is_reported_as_the_work_goes(team, school, monkeypatch):
    monkeypatch.setattr(importer, "BATCH", 10)
    monkeypatch.setattr(importer, "REPORT_EVERY", 10)
    monkeypatch.setattr(importer.JobProgress, "REPORT_SECONDS", 0)
    reports: list[tuple[str, int, int]] = []
    store = importer.JobProgress.store

    def recorded(self, values):
        assert values["lease_until"] > timezone.now()  # each report renews the lease
        reports.append((values["phase"], values["progress_done"], values["progress_total"]))
        store(self, values)

    monkeypatch.setattr(importer.JobProgress, "store", recorded)
    existing(school, 20)
    job = started(team, school, csv_text(55, users=3))
    checking = [r for r in reports if r[0] == "Checking the rows"]
    assert len(checking) >= 5
    assert all(total == 55 for _, _, total in checking)
    assert [done for _, done, _ in checking] == sorted(done for _, done, _ in checking)
    assert checking[-1][1] == 55

    reports.clear()
    importer.confirm(job.pk, team["sam"])
    jobs.run(timezone.now())
    job.refresh_from_db()
    assert job.state == ImportState.DONE, job.failure
    phases = [phase for phase, _, _ in reports]
    assert phases.index("Saving the items") > phases.index("Checking the rows again")
    assert all(total == 55 + 55 for _, _, total in reports)  # check again, then 35 + 20 writes
    dones = [done for _, done, _ in reports]
    assert dones == sorted(dones) and dones[-1] == 110
    saving = [done for phase, done, _ in reports if phase == "Saving the items"]
    # One report a batch: 35 new items in batches of 10, then 20 changed ones.
    assert saving[:7] == [55, 65, 75, 85, 90, 100, 110]


@pytest.mark.django_db(transaction=True)
def test_progress_inside_the_apply_is_seen_before_it_commits(team, school):
    """PostgreSQL: through a connection of its own; SQLite: through a file."""
    job = importer.start(school, team["sam"], csv_text(3), "items.csv")
    ItemImport.objects.filter(pk=job.pk).update(state=ImportState.APPLYING)
    claimed = jobs.claim(timezone.now())
    assert claimed is not None and claimed.pk == job.pk
    progress = importer.JobProgress(claimed, "Saving the items", total=10)
    try:
        with transaction.atomic():
            progress(4, 10)
            seen = importer.live_progress(ItemImport.objects.light().get(pk=job.pk))
            assert (seen.phase, seen.progress_done, seen.progress_total) == (
                "Saving the items",
                4,
                10,
            )
    finally:
        progress.close()
    # Another worker's report (an older claim) is not shown.
    ItemImport.objects.filter(pk=job.pk).update(attempts=5, progress_done=0)
    assert importer.live_progress(ItemImport.objects.light().get(pk=job.pk)).progress_done == 0


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (RuntimeError("the disk is full"), "Something went wrong"),
        (IntegrityError("duplicate key"), "The items changed while the file was being imported"),
    ],
)
def test_an_error_mid_apply_writes_nothing(team, school, monkeypatch, error, message):
    monkeypatch.setattr(importer, "BATCH", 10)
    existing(school, 20, users=1)
    job = started(team, school, csv_text(55, users=9))  # 35 to add, 20 to update
    importer.confirm(job.pk, team["sam"])
    calls = []
    update = importer._update

    def fails_on_the_second_batch(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise error
        update(*args, **kwargs)

    monkeypatch.setattr(importer, "_update", fails_on_the_second_batch)
    jobs.run(timezone.now())
    assert len(calls) == 2  # the 35 new items and one batch of updates were written, then
    job.refresh_from_db()
    assert job.state == ImportState.FAILED
    assert message in job.failure
    # ... rolled back: none of them is kept.
    assert ConfigurationItem.objects.count() == 20
    assert set(ConfigurationItem.objects.values_list("users_affected", flat=True)) == {1}


def test_a_row_that_went_bad_since_the_preview_fails_it_with_the_row(team, school):
    job = started(team, school, csv_text(10))
    team["olivia"].memberships.all().delete()  # rows 2 and 7 name her as the owner
    importer.confirm(job.pk, team["sam"])
    jobs.run(timezone.now())
    job.refresh_from_db()
    assert job.state == ImportState.FAILED
    assert "changed since the file was checked" in job.failure
    assert [row for row, _, _ in job.errors] == [2, 7]
    assert job.error_count == 2
    assert not ConfigurationItem.objects.exists()


def test_an_uploader_who_is_no_longer_an_administrator_imports_nothing(team, school):
    job = started(team, school, csv_text(5))
    importer.confirm(job.pk, team["sam"])
    set_membership(team["sam"], school, [Role.VIEWER])
    jobs.run(timezone.now())
    job.refresh_from_db()
    assert job.state == ImportState.FAILED
    assert "no longer an administrator" in job.failure
    assert not ConfigurationItem.objects.exists()


def test_a_claimed_import_waits_for_its_lease_then_fails_after_three_workers(team, school):
    job = importer.start(school, team["sam"], csv_text(3), "items.csv")
    now = timezone.now()
    first = jobs.claim(now)
    assert first is not None and (first.state, first.attempts) == ("checking", 1)
    assert jobs.claim(now) is None  # another worker passes it by
    # The worker died: when its lease ends another takes it, up to MAX_ATTEMPTS times.
    later = now + timedelta(seconds=importer.LEASE_SECONDS + 1)
    second = jobs.claim(later)
    assert second is not None and second.attempts == 2
    # The first worker wakes up: it can no longer record anything.
    importer.check_job(first)
    job.refresh_from_db()
    assert (job.state, job.attempts) == ("checking", 2)
    assert jobs.claim(later + timedelta(seconds=importer.LEASE_SECONDS + 1)).attempts == 3
    assert jobs.claim(later + timedelta(seconds=2 * importer.LEASE_SECONDS + 2)) is None
    job.refresh_from_db()
    assert job.state == ImportState.FAILED
    assert "The worker stopped while working on the file, 3 times" in job.failure


def test_an_apply_taken_over_by_another_worker_is_rolled_back(team, school):
    job = started(team, school, csv_text(5))
    importer.confirm(job.pk, team["sam"])
    mine = jobs.claim(timezone.now())
    assert mine is not None
    ItemImport.objects.filter(pk=job.pk).update(attempts=mine.attempts + 1)  # another's now
    importer.apply_job(mine)
    job.refresh_from_db()
    assert job.state == ImportState.APPLYING
    assert not ConfigurationItem.objects.exists()


@pytest.mark.parametrize("rows", [20, 600])
def test_the_apply_makes_as_many_queries_for_few_rows_as_for_many(
    team, school, rows, django_assert_max_num_queries
):
    existing(school, rows // 2)
    job = started(team, school, csv_text(rows, users=4))
    assert (job.created_count, job.updated_count) == (rows - rows // 2, rows // 2)
    importer.confirm(job.pk, team["sam"])
    # Previews to let go; the claim; the school, the uploader and their roles; the lock; the
    # file; the items once; the owners once; per batch of up to BATCH rows one INSERT and one
    # UPDATE (prepared once, run for each row); the result: 22 queries for either size on
    # PostgreSQL. SQLite splits an INSERT into statements of 83 rows (its 999 parameters):
    # 3 more for 300 new rows.
    with django_assert_max_num_queries(25):
        jobs.run(timezone.now())
    job.refresh_from_db()
    assert job.state == ImportState.DONE, job.failure
    assert ConfigurationItem.objects.filter(users_affected=4).count() == rows


def test_a_large_upload_passes_the_request_limits(admin_client, through_the_worker, settings):
    text = csv_text(80_000)  # about 3.4 MB
    size = len(text.encode())
    assert size > settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    assert size > settings.FILE_UPLOAD_MAX_MEMORY_SIZE  # kept in a temporary file
    job = upload(admin_client, text)
    assert (job.size, job.state) == (size, ImportState.QUEUED)
    assert job.columns == ["name", "kind", "identifier", "location", "owner", "users_affected"]


def test_the_file_is_dropped_once_done_or_left_unconfirmed(team, school):
    done = started(team, school, csv_text(2))
    importer.confirm(done.pk, team["sam"])
    jobs.run(timezone.now())
    left = started(team, school, csv_text(2, start=5))
    assert jobs.run(timezone.now() + timedelta(days=jobs.UNCONFIRMED_DAYS - 1)) == 0
    left.refresh_from_db()
    assert left.state == ImportState.PREVIEWED and left.text
    jobs.run(timezone.now() + timedelta(days=jobs.UNCONFIRMED_DAYS, minutes=1))
    left.refresh_from_db()
    done.refresh_from_db()
    assert (left.state, left.text) == (ImportState.FAILED, "")
    assert "Not confirmed within 7 days" in left.failure
    assert (done.state, done.text, done.created_count) == (ImportState.DONE, "", 2)
    assert ConfigurationItem.objects.count() == 2


def test_the_import_pages_make_few_queries(
    admin_client, team, school, through_the_worker, django_assert_max_num_queries
):
    # The session, the user and their memberships, the import (without its file).
    job = upload(admin_client, csv_text(700))
    with django_assert_max_num_queries(6):
        admin_client.get(job_url(job), **HTMX)
    jobs.run(timezone.now())
    with django_assert_max_num_queries(6):
        page = admin_client.get(job_url(job))
    assert "200 more not shown" in page.content.decode()
    for n in range(3):
        upload(admin_client, csv_text(5, start=n))
    with django_assert_max_num_queries(6):
        admin_client.get(URL)


def test_progress_that_cannot_be_reported_does_not_stop_the_import(team, school, monkeypatch):
    def unreachable(self, values):
        raise DatabaseError("too many connections")

    monkeypatch.setattr(importer.JobProgress, "store", unreachable)
    job = started(team, school, csv_text(5))
    importer.confirm(job.pk, team["sam"])
    jobs.run(timezone.now())
    job.refresh_from_db()
    assert job.state == ImportState.DONE
    assert ConfigurationItem.objects.count() == 5
