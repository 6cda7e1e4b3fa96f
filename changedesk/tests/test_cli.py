"""The `changedesk` command: its own commands in-process, Django's through a real process.

The commands are Django management commands (`changedesk.*.management.commands`); `cli.main`
runs them as the installed `changedesk` does.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connection
from rest_framework.authtoken.models import Token

from changedesk import cli
from changedesk.accounts.models import School, User
from changedesk.changes.models import ChangeEvent
from changedesk.changes.workflow import perform
from changedesk.conftest import PASSWORD, advance
from changedesk.notifications.models import OutboxMessage
from changedesk.site.management.commands import serve


def run(capsys, *args: str) -> tuple[int, str, str]:
    status = cli.main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


def assert_one_line_error(err: str, *fragments: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("changedesk: error: ")
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0]


# --- Help. ---


@pytest.mark.parametrize("args", [[], ["--help"]])
def test_it_lists_its_commands(capsys, args):
    status, out, _ = run(capsys, *args)

    assert status == 0
    for command, text in [
        ("serve", "migrate, collect static files and serve"),
        ("worker", "send the queued e-mail"),
        ("demo", "build the demo school"),
        ("school", "add or list schools"),
        ("user", "add people"),
        ("token", "print an API token"),
        ("verify-history", "check every RFC's hash-chained history"),
    ]:
        assert re.search(rf"^  {command} +{text}", out, re.MULTILINE), command
    assert "changedesk migrate" in out
    assert "changedesk help" in out


def test_it_explains_a_subcommand(capsys):
    status, out, _ = run(capsys, "user", "add", "--help")

    assert status == 0
    assert "--role" in out
    assert "their roles in that school are replaced" in " ".join(out.split())


def test_a_usage_mistake_points_to_the_help_of_the_subcommand(school, capsys):
    status, _, err = run(capsys, "user", "add", "tess", "--school", "greenfield")

    assert status == 2
    assert err == (
        "changedesk: error: the following arguments are required: --role "
        "(see `changedesk user add --help`)\n"
    )


def test_a_subcommand_takes_traceback_after_its_arguments(school, capsys):
    status, out, err = run(capsys, "school", "add", "Hillside Academy", "--traceback")

    assert (status, err) == (0, "")
    assert "Added Hillside Academy (hillside-academy)" in out


def test_the_commands_are_django_management_commands(draft, team):
    out = io.StringIO()

    call_command("verify-history", stdout=out)

    assert out.getvalue() == "OK: 1 events in 1 RFCs\n"


def test_an_unknown_command_is_one_line(db, capsys):
    status, _, err = run(capsys, "frobnicate")

    assert status == 1
    assert_one_line_error(err, "unknown command 'frobnicate'")


# --- Schools. ---


def test_school_add_creates_a_school(db, capsys):
    status, out, err = run(capsys, "school", "add", "Hillside Academy", "--slug", "hillside")

    assert (status, err) == (0, "")
    assert "Added Hillside Academy (hillside): peer review on" in out
    school = School.objects.get(slug="hillside")
    assert school.name == "Hillside Academy"
    assert school.peer_review_enabled
    assert school.timezone == "Europe/London"


def test_school_add_can_leave_peer_review_out_and_set_the_zone(db, capsys):
    status, out, _ = run(
        capsys,
        "school",
        "add",
        "Ysgol y Bryn",
        "--slug",
        "bryn",
        "--no-peer-review",
        "--timezone",
        "Europe/London",
    )

    assert status == 0
    assert "peer review off" in out
    assert not School.objects.get(slug="bryn").peer_review_enabled


def test_school_add_makes_a_slug_from_the_name(db, capsys):
    assert run(capsys, "school", "add", "St Mary's Primary")[0] == 0

    assert School.objects.filter(slug="st-marys-primary").exists()


def test_school_add_refuses_a_duplicate_slug(school, capsys):
    status, _, err = run(capsys, "school", "add", "Another", "--slug", "greenfield")

    assert status == 1
    assert_one_line_error(err, "a school with the slug 'greenfield' already exists")
    assert School.objects.count() == 1


def test_school_add_refuses_an_unknown_time_zone(db, capsys):
    status, _, err = run(
        capsys, "school", "add", "Mars", "--slug", "mars", "--timezone", "Mars/Base"
    )

    assert status == 1
    assert_one_line_error(err, "timezone:", "not a known time zone")
    assert not School.objects.exists()


def test_school_add_needs_a_name(db, capsys):
    status, _, err = run(capsys, "school", "add")

    assert status == 2
    assert_one_line_error(err, "name")


def test_school_list(school, other_school, capsys):
    status, out, _ = run(capsys, "school", "list")

    assert status == 0
    lines = out.strip().splitlines()
    assert lines[0].split() == ["SLUG", "NAME", "TIME", "ZONE", "PEER", "REVIEW", "MEMBERS"]
    assert lines[1].startswith("greenfield  Greenfield Primary")
    assert lines[2].startswith("hillside    Hillside Academy")


def test_school_list_when_there_are_none(db, capsys):
    status, out, _ = run(capsys, "school", "list")

    assert status == 0
    assert "No schools yet" in out


# --- People. ---


def add_user(capsys, *extra: str) -> tuple[int, str, str]:
    return run(
        capsys,
        "user",
        "add",
        "tess",
        "--email",
        "tess@greenfield.example",
        "--password",
        PASSWORD,
        "--school",
        "greenfield",
        *extra,
    )


def test_user_add_creates_a_person_with_their_roles(school, capsys):
    status, out, err = add_user(
        capsys,
        "--role",
        "originator",
        "--role",
        "implementer",
        "--first-name",
        "Tess",
        "--last-name",
        "Taylor",
        "--job-title",
        "Technician",
    )

    assert (status, err) == (0, "")
    assert "Added tess (Tess Taylor) to Greenfield Primary as originator, implementer." in out
    tess = User.objects.get(username="tess")
    assert tess.email == "tess@greenfield.example"
    assert tess.job_title == "Technician"
    assert tess.check_password(PASSWORD)
    assert tess.roles_in(school) == {"originator", "implementer"}


def test_user_add_replaces_the_roles_of_someone_who_exists(school, other_school, olivia, capsys):
    status, out, _ = run(
        capsys,
        "user",
        "add",
        "olivia",
        "--school",
        "hillside",
        "--role",
        "peer_reviewer",
    )

    assert status == 0
    assert "olivia already exists; their roles at Hillside Academy are now: peer reviewer" in out
    olivia = User.objects.get(username="olivia")
    assert olivia.roles_in(other_school) == {"peer_reviewer"}
    assert olivia.roles_in(school) == {"originator", "implementer"}

    status, out, _ = run(
        capsys, "user", "add", "olivia", "--school", "greenfield", "--role", "implementer"
    )
    assert status == 0
    assert User.objects.get(username="olivia").roles_in(school) == {"implementer"}
    assert User.objects.count() == 1


def test_user_add_reads_the_password_from_stdin(school, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO(PASSWORD + "\n"))

    status, _, _ = run(
        capsys,
        "user",
        "add",
        "tess",
        "--email",
        "tess@greenfield.example",
        "--password",
        "-",
        "--school",
        "greenfield",
        "--role",
        "originator",
    )

    assert status == 0
    assert User.objects.get(username="tess").check_password(PASSWORD)


@pytest.mark.parametrize(
    ("args", "status", "fragments"),
    [
        (["--role", "headteacher"], 2, ["invalid choice: 'headteacher'"]),
        ([], 2, ["--role"]),
    ],
)
def test_user_add_refuses_bad_roles(school, capsys, args, status, fragments):
    result, _, err = add_user(capsys, *args)

    assert result == status
    assert_one_line_error(err, *fragments)
    assert not User.objects.filter(username="tess").exists()


def test_user_add_refuses_an_unknown_school(school, capsys):
    status, _, err = run(
        capsys,
        "user",
        "add",
        "tess",
        "--email",
        "tess@example.org",
        "--password",
        PASSWORD,
        "--school",
        "nowhere",
        "--role",
        "originator",
    )

    assert status == 1
    assert_one_line_error(err, "no school with the slug 'nowhere'", "greenfield")


@pytest.mark.parametrize(
    ("email", "password", "fragments"),
    [
        ("not-an-address", PASSWORD, ["email:", "valid email address"]),
        ("tess@greenfield.example", "password", ["password:", "too common"]),
        ("tess@greenfield.example", "12345678", ["password:", "entirely numeric"]),
        ("tess@greenfield.example", "tess", ["password:", "too short"]),
    ],
)
def test_user_add_refuses_bad_details(school, capsys, email, password, fragments):
    status, _, err = run(
        capsys,
        "user",
        "add",
        "tess",
        "--email",
        email,
        "--password",
        password,
        "--school",
        "greenfield",
        "--role",
        "originator",
    )

    assert status == 1
    assert_one_line_error(err, *fragments)
    assert not User.objects.filter(username="tess").exists()


def test_user_add_needs_an_email_for_a_new_user(school, capsys):
    status, _, err = run(
        capsys, "user", "add", "tess", "--password", PASSWORD, "--school", "greenfield",
        "--role", "originator",
    )  # fmt: skip

    assert status == 1
    assert_one_line_error(err, "--email is needed")


def test_user_add_refuses_a_bad_username(school, capsys):
    status, _, err = run(
        capsys, "user", "add", "tess taylor", "--email", "t@example.org", "--password", PASSWORD,
        "--school", "greenfield", "--role", "originator",
    )  # fmt: skip

    assert status == 1
    assert_one_line_error(err, "username:")


# --- Tokens. ---


def test_token_prints_the_same_token_each_time(olivia, capsys):
    status, out, _ = run(capsys, "token", "olivia")
    again = run(capsys, "token", "olivia")[1]

    assert status == 0
    assert re.fullmatch(r"[0-9a-f]{40}\n", out)
    assert again == out
    assert Token.objects.get(user=olivia).key == out.strip()


def test_token_refuses_an_unknown_user(db, capsys):
    status, _, err = run(capsys, "token", "nobody")

    assert status == 1
    assert_one_line_error(err, "no user called 'nobody'")


# --- History. ---


def test_verify_history_reports_a_whole_history(draft, team, capsys):
    advance(draft, team, "closed")

    status, out, err = run(capsys, "verify-history")

    assert (status, err) == (0, "")
    assert out == "OK: 9 events in 1 RFCs\n"


def test_verify_history_names_the_rfc_that_was_tampered_with(draft, team, capsys):
    advance(draft, team, "approved")
    table = connection.ops.quote_name(ChangeEvent._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET comment = %s WHERE change_id = %s AND sequence = %s",  # noqa: S608
            ["Approved by the headteacher", draft.pk, 3],
        )

    status, out, err = run(capsys, "verify-history")

    assert status == 1
    assert_one_line_error(err, "greenfield:RFC-0001 event 3: content does not match its hash")
    assert "BROKEN greenfield:RFC-0001 event 3" in out


# --- The worker and the demo. ---


def test_worker_once_sends_the_outbox(draft, team, capsys):
    perform(draft.pk, "submit", team["olivia"])

    status, out, _ = run(capsys, "worker", "--once")

    assert status == 0
    assert out == "Sent 1, failed 0.\n"
    assert [m.to for m in mail.outbox] == [["ian@greenfield.example"]]
    assert not OutboxMessage.objects.filter(status="pending").exists()


def test_worker_refuses_a_bad_batch(db, capsys):
    status, _, err = run(capsys, "worker", "--batch", "0")

    assert status == 2
    assert_one_line_error(err, "--batch")


def test_demo_prints_the_sign_ins(db, capsys, settings):
    settings.DEBUG = True

    status, out, err = run(capsys, "demo")

    assert (status, err) == (0, "")
    assert "Demo school: Greenfield Primary (greenfield)" in out
    assert "http://127.0.0.1:8000/" in out
    assert re.search(r"olivia +password changedesk-demo", out)
    assert "fiona" in out


# --- Serving. ---


@pytest.fixture
def exec_calls(monkeypatch, settings, tmp_path):
    settings.STATIC_ROOT = tmp_path / "static"
    calls: list[list[str]] = []
    monkeypatch.setattr(serve, "_exec", calls.append)
    return calls


def test_serve_migrates_collects_static_and_runs_gunicorn(
    db, capsys, settings, exec_calls, monkeypatch
):
    settings.DEBUG = False
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)

    status, _, _ = run(capsys, "serve", "--host", "192.0.2.10", "--port", "8080")

    assert status == 0
    [argv] = exec_calls
    assert argv[1:] == [
        "-m",
        "gunicorn",
        "changedesk.wsgi:application",
        "--bind",
        "192.0.2.10:8080",
        "--workers",
        "2",
        "--access-logfile",
        "-",
        "--timeout",
        "30",
    ]
    assert (Path(settings.STATIC_ROOT) / "changedesk" / "site.css").exists()


def test_serve_leaves_the_timeout_to_gunicorn_cmd_args_when_it_names_one(
    db, capsys, settings, exec_calls, monkeypatch
):
    settings.DEBUG = False
    monkeypatch.setenv("GUNICORN_CMD_ARGS", "--timeout 90 --graceful-timeout 10")

    assert run(capsys, "serve")[0] == 0

    assert "--timeout" not in exec_calls[0]


def test_serve_takes_the_workers_from_web_concurrency(
    db, capsys, settings, exec_calls, monkeypatch
):
    settings.DEBUG = False
    monkeypatch.setenv("WEB_CONCURRENCY", "5")

    assert run(capsys, "serve")[0] == 0

    assert exec_calls[0][exec_calls[0].index("--workers") + 1] == "5"
    assert exec_calls[0][exec_calls[0].index("--bind") + 1] == "127.0.0.1:8000"


def test_serve_refuses_a_bad_web_concurrency(db, capsys, settings, exec_calls, monkeypatch):
    settings.DEBUG = False
    monkeypatch.setenv("WEB_CONCURRENCY", "lots")

    status, _, err = run(capsys, "serve")

    assert status == 1
    assert_one_line_error(err, "WEB_CONCURRENCY")
    assert exec_calls == []


def test_serve_in_debug_runs_the_development_server(db, capsys, settings, monkeypatch):
    settings.DEBUG = True
    commands: list[tuple] = []

    def fake_call_command(name, *args, **kwargs):
        commands.append((name, *args))
        if name != "runserver":
            call_command(name, *args, **kwargs)

    monkeypatch.setattr(serve, "call_command", fake_call_command)

    assert run(capsys, "serve", "--port", "8001")[0] == 0
    assert commands == [("migrate",), ("runserver", "127.0.0.1:8001")]


def test_serve_refuses_a_bad_port(db, capsys):
    status, _, err = run(capsys, "serve", "--port", "99999")

    assert status == 2
    assert_one_line_error(err, "--port")


# --- The installed command, in a process of its own. ---


def changedesk(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).with_name("changedesk")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "changedesk.cli"]
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DEBUG")}
    env["DATA_DIR"] = str(tmp_path)
    return subprocess.run(  # noqa: S603
        [*command, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_the_installed_command_runs_django_commands_and_its_own(tmp_path):
    assert changedesk(tmp_path, "migrate", "-v", "0").returncode == 0

    added = changedesk(tmp_path, "school", "add", "Hillside Academy", "--slug", "hillside")
    again = changedesk(tmp_path, "school", "add", "Hillside Academy", "--slug", "hillside")
    checked = changedesk(tmp_path, "check")
    listed = changedesk(tmp_path, "help")
    explained = changedesk(tmp_path, "help", "worker")

    assert added.returncode == 0, added.stderr
    assert "Added Hillside Academy (hillside)" in added.stdout
    assert again.returncode == 1
    assert again.stderr == ("changedesk: error: a school with the slug 'hillside' already exists\n")
    assert checked.returncode == 0
    assert "System check identified no issues" in checked.stdout
    assert listed.returncode == 0
    sections = dict(re.findall(r"^\[(\w+)\]\n((?:    .+\n)+)", listed.stdout, re.MULTILINE))
    listing = {app: text.split() for app, text in sections.items()}
    assert {"school", "token", "unlock", "user"} <= set(listing["accounts"])
    assert "verify-history" in listing["changes"]
    assert "worker" in listing["notifications"]
    assert {"backup", "demo", "restore", "serve"} <= set(listing["site"])
    assert "migrate" in listing["django"]
    assert explained.returncode == 0
    assert "usage: changedesk worker" in explained.stdout
    assert "--once" in explained.stdout


def test_the_installed_command_explains_an_unmigrated_database(tmp_path):
    result = changedesk(tmp_path, "school", "list")

    assert result.returncode == 1
    assert_one_line_error(result.stderr, "database:", "changedesk migrate")


def test_the_demo_sets_up_a_fresh_machine(tmp_path):
    demo = changedesk(tmp_path, "demo")
    verified = changedesk(tmp_path, "verify-history")

    assert demo.returncode == 0, demo.stderr
    assert "olivia" in demo.stdout
    assert verified.returncode == 0
    # Greenfield's 17 RFCs of now (12, the RFC proposing the patch run's standard change, this
    # month's run, last month's patch run and the two RFCs of the summer release), its year of
    # history (about a hundred, by the school year around the day the demo is built);
    # Meadowbank has none yet.
    found = re.fullmatch(r"OK: \d+ events in (\d+) RFCs\n", verified.stdout)
    assert found is not None, verified.stdout
    assert int(found.group(1)) >= 17 + 80


class FakeProcess:
    """What `serve --worker` sees of the outbox worker it starts."""

    started: list[list[str]] = []

    def __init__(self, argv: list[str]) -> None:
        self.argv = argv
        self.terminated = False
        FakeProcess.started.append(argv)
        FakeProcess.last = self

    def poll(self) -> int | None:
        return 0 if self.terminated else None

    def terminate(self) -> None:
        self.terminated = True

    def wait(self, timeout: float | None = None) -> int:
        return 0


@pytest.fixture
def fake_worker(monkeypatch):
    FakeProcess.started = []
    monkeypatch.setattr(serve.subprocess, "Popen", FakeProcess)
    return FakeProcess


def test_serve_with_a_worker_runs_the_outbox_beside_gunicorn_and_stops_it(
    db, capsys, settings, exec_calls, fake_worker, monkeypatch
):
    settings.DEBUG = False
    supervised: list[list[str]] = []
    monkeypatch.setattr(serve, "_supervise", supervised.append)

    assert run(capsys, "serve", "--port", "8123", "--worker")[0] == 0

    assert exec_calls == []  # gunicorn runs as a child, so the worker can be stopped after it
    [gunicorn] = supervised
    assert gunicorn[gunicorn.index("--bind") + 1] == "127.0.0.1:8123"
    [worker] = fake_worker.started
    assert worker[1:] == ["-m", "changedesk.cli", "worker", "--interval", "2"]
    assert fake_worker.last.terminated


def test_serve_in_debug_with_a_worker_starts_it_once_beside_the_reloader(
    db, capsys, settings, fake_worker, monkeypatch
):
    settings.DEBUG = True
    monkeypatch.setattr(serve, "call_command", lambda name, *args, **kw: None)

    assert run(capsys, "serve", "--worker")[0] == 0
    assert len(fake_worker.started) == 1 and fake_worker.last.terminated
    # The reloader's child process runs the command again: it starts no second worker.
    monkeypatch.setenv("RUN_MAIN", "true")
    assert run(capsys, "serve", "--worker")[0] == 0
    assert len(fake_worker.started) == 1


def test_serve_without_a_worker_starts_none(db, capsys, settings, exec_calls, fake_worker):
    settings.DEBUG = False

    assert run(capsys, "serve")[0] == 0

    assert fake_worker.started == [] and len(exec_calls) == 1


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for(predicate, seconds: float = 60) -> None:
    import time

    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.25)


def test_make_run_serves_the_product_and_prints_the_mail_with_links_to_its_port(tmp_path):
    """What `make run` runs (see the Makefile), on a port of its own, as a newcomer meets it:
    the product's own 404 page, and an approval e-mail on the console whose link opens the
    decision page on that port."""
    import urllib.error
    import urllib.request

    port = _free_port()
    site = f"http://127.0.0.1:{port}"
    env = {"DEBUG": "false", "HTTPS": "false", "EMAIL_URL": "console://", "SITE_URL": site}
    assert changedesk(tmp_path, "demo").returncode == 0
    script = Path(sys.executable).with_name("changedesk")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "changedesk.cli"]
    child_env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DEBUG")}
    child_env |= env | {"DATA_DIR": str(tmp_path), "WEB_CONCURRENCY": "1"}
    log = tmp_path / "console.log"
    with log.open("w") as out:
        server = subprocess.Popen(  # noqa: S603
            [*command, "serve", "--port", str(port), "--worker"],
            env=child_env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:

        def serving() -> bool:
            try:
                urllib.request.urlopen(f"{site}/accounts/login/", timeout=2)  # noqa: S310
            except OSError:  # not listening yet, or still starting
                return False
            return True

        _wait_for(serving)
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(f"{site}/no-such-page/", timeout=5)  # noqa: S310
        assert missing.value.code == 404
        page = missing.value.read().decode()
        assert "<title>Not found · changedesk</title>" in page
        assert "URLconf" not in page  # not Django's debug page

        submitted = subprocess.run(  # noqa: S603
            [
                *command,
                "shell",
                "-c",
                "from changedesk.changes.models import Change\n"
                "from changedesk.changes.workflow import perform\n"
                "c = Change.objects.filter(state='draft', school__slug='greenfield').first()\n"
                "perform(c.pk, 'submit', c.originator)\n",
            ],
            env=child_env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert submitted.returncode == 0, submitted.stderr
        _wait_for(lambda: "Decide now: " in log.read_text())
        link = re.search(r"Decide now: (\S+)", log.read_text())
        assert link is not None and link.group(1).startswith(f"{site}/decide/")
        with urllib.request.urlopen(link.group(1), timeout=5) as decision:  # noqa: S310
            assert "deciding as Ian Ingram" in decision.read().decode()
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)
