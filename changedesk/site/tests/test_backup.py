"""`changedesk backup` and `changedesk restore`: a restored instance is the one backed up,
history chain and all, on SQLite and PostgreSQL and from one to the other."""

from __future__ import annotations

import gzip
import io
import json
import os
import secrets
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.admin.models import ADDITION, LogEntry
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.db import connection, transaction
from rest_framework.authtoken.models import Token

from changedesk.accounts.models import School, User
from changedesk.changes.models import Change, ChangeEvent
from changedesk.changes.services import create_change
from changedesk.changes.workflow import perform
from changedesk.committee.models import AgendaItem, Meeting
from changedesk.site.backup import backed_up_models, label
from changedesk.site.demo import SCHOOL_SLUG, build_demo
from changedesk.tests.test_cli import assert_one_line_error, run


def rows() -> dict[str, list[tuple]]:
    """Every backed-up table's rows, every column, by primary key."""
    return {
        label(model): list(model._base_manager.order_by("pk").values_list())
        for model in backed_up_models()
    }


def scene() -> None:
    """The demo school, and a row in the tables the demo leaves empty."""
    build_demo()
    school = School.objects.get(slug=SCHOOL_SLUG)
    people = {u.username: u for u in User.objects.all()}
    Token.objects.create(user=people["olivia"])
    auditors = Group.objects.create(name="Auditors")
    auditors.permissions.add(Permission.objects.get(codename="view_change"))
    people["tom"].groups.add(auditors)
    people["sam"].user_permissions.add(Permission.objects.get(codename="view_school"))
    change = Change.objects.filter(school=school).order_by("pk").first()
    meeting = Meeting.objects.create(
        school=school,
        title="Spring committee — café ☕",
        held_at=datetime(2025, 3, 4, 16, 30, tzinfo=UTC),
        chair=people["fiona"],
        created_by=people["sam"],
    )
    meeting.members_present.add(people["fiona"], people["ian"])
    AgendaItem.objects.create(
        meeting=meeting, change=change, order=1, state_when_listed=change.state
    )
    # `auto_now` columns come back as they were, not as the time of the restore.
    Meeting.objects.filter(pk=meeting.pk).update(updated_at=datetime(2020, 1, 1, tzinfo=UTC))
    LogEntry.objects.create(
        user=people["sam"],
        content_type=ContentType.objects.get_for_model(Change),
        object_id=str(change.pk),
        object_repr=str(change),
        action_flag=ADDITION,
        change_message="[]",
    )
    session = SessionStore()
    session["left"] = "out"
    session.create()


@pytest.fixture(scope="module")
def saved(django_db_setup, django_db_blocker, tmp_path_factory):
    """A backup of the scene (then rolled back), and the rows it was made from."""
    path = tmp_path_factory.mktemp("backup") / "changedesk.jsonl.gz"
    with django_db_blocker.unblock(), transaction.atomic():
        scene()
        before = rows()
        call_command("backup", str(path), stdout=io.StringIO())
        transaction.set_rollback(True)
    return path, before


def items(path: Path) -> list:
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        return [json.loads(line) for line in lines]


def write(path: Path, items_: list) -> Path:
    with gzip.open(path, "wt", encoding="utf-8") as out:
        for item in items_:
            out.write(json.dumps(item) + "\n")
    return path


# --- The round trip. ---


@pytest.mark.django_db(transaction=True)
def test_a_restored_instance_is_the_one_backed_up(saved, capsys):
    path, before = saved
    # An empty database, its sequences back at 1 (what a new PostgreSQL database has) and
    # the content types and permissions `migrate` makes, under other ids than the backup's.
    call_command("flush", interactive=False, verbosity=0)
    ContentType.objects.all().delete()
    call_command("migrate", verbosity=0)

    status, out, err = run(capsys, "restore", str(path))

    assert (status, err) == (0, ""), err
    assert out.startswith(f"Restored {sum(map(len, before.values()))} rows of ")
    assert f"({len(before['changes.change'])} RFCs, " in out
    assert rows() == before
    assert Session.objects.count() == 0  # not backed up: everyone signs in again
    status, out, err = run(capsys, "verify-history")
    assert (status, err) == (0, "")
    assert out == (
        f"OK: {len(before['changes.changeevent'])} events in {len(before['changes.change'])} RFCs\n"
    )
    # It works on: new rows take new ids (the sequences were set past the restored rows),
    # and the history goes on from where it was.
    school = School.objects.get(slug=SCHOOL_SLUG)
    olivia = User.objects.get(username="olivia")
    change = create_change(school, olivia, {"title": "After", "description": "d", "reason": "r"})
    perform(change.pk, "submit", olivia)
    assert change.pk > max(row[0] for row in before["changes.change"])
    assert Token.objects.get(user=olivia).key == before["authtoken.token"][0][0]
    Group.objects.create(name="New")
    ContentType.objects.get_for_model(Change)  # the cache is the restored table's
    status, out, _ = run(capsys, "verify-history")
    assert status == 0
    assert out.startswith(f"OK: {len(before['changes.changeevent']) + 2} events in ")


def test_the_file_is_a_header_then_each_table_after_those_it_refers_to(saved):
    path, before = saved
    header, *rest = items(path)
    tables = [item["model"] for item in rest if isinstance(item, dict) and "model" in item]

    assert header["format"] == "changedesk-backup"
    assert header["version"] == 1
    assert header["database"] == connection.vendor
    assert header["counts"] == {name: len(table) for name, table in before.items()}
    assert "changes" in header["migrations"]
    assert tables == list(before)
    assert "sessions.session" not in tables
    assert tables.index("accounts.user") < tables.index("changes.change")
    assert tables.index("changes.change") < tables.index("changes.changeevent")
    assert rest[-1] == {"end": True, "rows": sum(map(len, before.values()))}
    assert oct(path.stat().st_mode & 0o777) == "0o600"  # password hashes, tokens


def test_backup_says_what_it_wrote(draft, tmp_path, capsys):
    path = tmp_path / "demo.jsonl.gz"

    status, out, err = run(capsys, "backup", str(path), "-v", "2")

    assert (status, err) == (0, "")
    assert "  changes.changeevent: " in out
    assert out.splitlines()[-1].startswith("Backed up ")
    assert out.splitlines()[-1].endswith(f"to {path} (1 RFCs, 1 history events).")
    assert [p.name for p in tmp_path.iterdir()] == ["demo.jsonl.gz"]  # no partial file left


# --- What is refused, in one line, changing nothing. ---


def test_restore_refuses_a_database_that_is_not_empty(school, saved, capsys):
    path, _ = saved

    status, _, err = run(capsys, "restore", str(path))

    assert status == 1
    assert_one_line_error(
        err, "the database is not empty (", "restore needs an empty, migrated database"
    )
    assert list(School.objects.all()) == [school]


def nothing_restored() -> None:
    assert not User.objects.exists()
    assert not ChangeEvent.objects.exists()
    assert ContentType.objects.exists()  # what `migrate` made is still there


def test_restore_refuses_a_truncated_file_and_restores_nothing(db, saved, tmp_path, capsys):
    path, _ = saved
    cut = tmp_path / "cut.jsonl.gz"
    data = path.read_bytes()
    cut.write_bytes(data[: len(data) * 3 // 4])

    status, _, err = run(capsys, "restore", str(cut))

    assert status == 1
    assert_one_line_error(err, f"{cut} is damaged at line ", "ends too early", "nothing was")
    nothing_restored()


def test_restore_refuses_a_file_without_its_end(db, saved, tmp_path, capsys):
    path, _ = saved
    short = write(tmp_path / "short.jsonl.gz", items(path)[:-1])

    status, _, err = run(capsys, "restore", str(short))

    assert status == 1
    assert_one_line_error(err, "ends too early", "nothing was restored")
    nothing_restored()


def table(entries: list, name: str) -> int:
    """Where table `name` starts."""
    return next(i for i, e in enumerate(entries) if isinstance(e, dict) and e.get("model") == name)


def damage_a_row(entries: list) -> list:
    """An event whose time is not a time."""
    at = table(entries, "changes.changeevent")
    fields = entries[at]["fields"]
    entries[at + 2][fields.index("created_at")] = "yesterday"
    return entries


def drop_a_row(entries: list) -> list:
    at = table(entries, "accounts.membership")
    del entries[at + 1]
    return entries


def break_a_link(entries: list) -> list:
    """An event by someone who is not in the backup."""
    at = table(entries, "changes.changeevent")
    fields = entries[at]["fields"]
    entries[at + 1][fields.index("actor_id")] = 999_999
    return entries


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (damage_a_row, "a value cannot be read"),
        (drop_a_row, "accounts.membership has "),
        (break_a_link, "does not hold together"),
    ],
)
def test_restore_refuses_a_damaged_file(db, saved, tmp_path, capsys, damage, message):
    path, _ = saved
    damaged = write(tmp_path / "damaged.jsonl.gz", damage(items(path)))

    status, _, err = run(capsys, "restore", str(damaged))

    assert status == 1
    assert_one_line_error(err, message, "nothing was restored")
    nothing_restored()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite keeps text of any length")
def test_restore_refuses_what_the_database_cannot_hold(db, saved, tmp_path, capsys):
    """From SQLite, which checks less: a name longer than PostgreSQL's column allows."""
    path, _ = saved
    entries = items(path)
    at = table(entries, "changes.change")
    entries[at + 1][entries[at]["fields"].index("title")] = "x" * 201
    long = write(tmp_path / "long.jsonl.gz", entries)

    status, _, err = run(capsys, "restore", str(long))

    assert status == 1
    assert_one_line_error(err, "does not fit this database (", "nothing was restored")
    nothing_restored()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty: not a changedesk backup"),
        (b"name,kind\nswitch,network_device\n", "is not a changedesk backup (not gzip)"),
        (gzip.compress(b"name,kind\n"), "is not a changedesk backup"),
        (gzip.compress(b'{"format": "something-else"}\n'), "is not a changedesk backup"),
        (gzip.compress(b""), "is empty: not a changedesk backup"),
    ],
)
def test_restore_refuses_what_is_not_a_backup(db, tmp_path, capsys, content, message):
    path = tmp_path / "file.gz"
    path.write_bytes(content)

    status, _, err = run(capsys, "restore", str(path))

    assert status == 1
    assert_one_line_error(err, message)


def test_restore_refuses_a_missing_file(db, tmp_path, capsys):
    status, _, err = run(capsys, "restore", str(tmp_path / "nowhere.jsonl.gz"))

    assert status == 1
    assert_one_line_error(err, "cannot read ", "No such file or directory")


def test_restore_refuses_a_backup_of_other_migrations(db, saved, tmp_path, capsys):
    path, _ = saved
    entries = items(path)
    ours = entries[0]["migrations"]["changes"]
    entries[0]["migrations"]["changes"] = ["0099_from_the_future"]
    future = write(tmp_path / "future.jsonl.gz", entries)

    status, _, err = run(capsys, "restore", str(future))

    assert status == 1
    assert_one_line_error(
        err,
        "was made at other migrations than this changedesk's",
        f"changes: 0099_from_the_future in the backup, {', '.join(ours)} here",
        "restore it with the changedesk that made it",
    )
    nothing_restored()


def test_a_usage_mistake_is_exit_status_2(db, capsys):
    status, _, err = run(capsys, "backup")

    assert status == 2
    assert_one_line_error(err, "the following arguments are required: FILE")


def test_backup_refuses_a_place_it_cannot_write(db, tmp_path, capsys):
    status, _, err = run(capsys, "backup", str(tmp_path / "missing" / "b.jsonl.gz"))

    assert status == 1
    assert_one_line_error(err, "cannot write ", "No such file or directory")
    status, _, err = run(capsys, "backup", str(tmp_path))
    assert status == 1
    assert_one_line_error(err, "is a directory")


# --- From one kind of database to the other (the installed command, as an operator runs it).


def changedesk(tmp_path: Path, database: str, *args: str) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).with_name("changedesk")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "changedesk.cli"]
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DEBUG")}
    # The history verifies only under the key that sealed it: an operator moving a backup
    # to another server carries HISTORY_KEY (or SECRET_KEY) with it.
    env |= {"DATA_DIR": str(tmp_path), "DATABASE_URL": database, "HISTORY_KEY": HISTORY_KEY}
    return subprocess.run(
        [*command, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


HISTORY_KEY = settings.HISTORY_KEY
POSTGRES = os.environ.get("CHANGEDESK_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432/postgres")


@pytest.fixture
def other_database(tmp_path):
    """A new database of the other kind than the suite's: SQLite when the suite runs on
    PostgreSQL, a new PostgreSQL database (dropped afterwards) when it runs on SQLite."""
    if connection.vendor == "postgresql":
        yield f"sqlite:///{tmp_path / 'restored.sqlite3'}"
        return
    psycopg = pytest.importorskip("psycopg")
    try:
        admin = psycopg.connect(POSTGRES, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError:
        pytest.skip(f"PostgreSQL is not reachable at {POSTGRES}")
    name = f"changedesk_restore_{secrets.token_hex(4)}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield POSTGRES.rsplit("/", 1)[0] + f"/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def test_a_backup_moves_between_sqlite_and_postgresql(saved, other_database, tmp_path):
    path, before = saved
    again = tmp_path / "again.jsonl.gz"

    restored = changedesk(tmp_path, other_database, "restore", str(path))
    assert restored.returncode == 0, restored.stderr
    verified = changedesk(tmp_path, other_database, "verify-history")
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout.startswith(f"OK: {len(before['changes.changeevent'])} events")
    backed_up = changedesk(tmp_path, other_database, "backup", str(again))
    assert backed_up.returncode == 0, backed_up.stderr

    first, *tables = items(path)
    second, *tables_again = items(again)
    assert second["database"] != first["database"]
    assert (second["counts"], second["migrations"]) == (first["counts"], first["migrations"])
    assert tables_again == tables


def test_events_restored_are_not_open_to_change(saved, db):
    """The rows are written as they were; the history stays append-only afterwards."""
    path, _ = saved
    call_command("restore", str(path), stdout=io.StringIO())
    event = ChangeEvent.objects.first()
    event.comment = "rewritten"

    with pytest.raises(TypeError, match="append-only"):
        event.save()
    assert Meeting.objects.get().updated_at == datetime(2020, 1, 1, tzinfo=UTC)
    assert Meeting.objects.get().created_at > datetime.now(UTC) - timedelta(days=1)
