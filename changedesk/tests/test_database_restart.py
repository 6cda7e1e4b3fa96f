"""PostgreSQL restarted and stopped under a running changedesk: no request fails once the
database is back (each web worker's kept connection is health-checked and replaced, and so
is the outbox worker's), nothing a client was told was saved is lost, and while the database
is down the API answers a JSON 503 and pages the product's 503 page, both with a Retry-After.

The database is a private PostgreSQL instance: its own data directory and port, made and
started here with initdb and pg_ctl (as the `postgres` user when this runs as root, which
initdb refuses), never the machine's shared server. Without those programs it is skipped.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from changedesk.conftest import PASSWORD, REQUEST


def _postgres_program(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True)
    return str(candidates[0]) if candidates else None


INITDB = _postgres_program("initdb")
PG_CTL = _postgres_program("pg_ctl")
AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def _postgres_user_exists() -> bool:
    import pwd

    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return False
    return shutil.which("runuser") is not None


def _why_not() -> str:
    if INITDB is None or PG_CTL is None:
        return "needs PostgreSQL's initdb and pg_ctl (apt-get install postgresql)"
    if AS_ROOT and not _postgres_user_exists():
        return "runs as root, and initdb refuses root: needs a `postgres` user and runuser"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "needs psycopg"
    return ""


pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(bool(_why_not()), reason=_why_not() or "-"),
]

ACCESS_LOG_FORMAT = '%(p)s %(s)s "%(r)s"'  # gunicorn's: the worker's pid, status, request line
WORKER_PASS_FAILED = "Outbox pass failed"
SENT_TO_IAN = "to ian@restart.example"  # the worker's log line for a mail sent to ian
# Seconds between the outbox worker's passes: longer than a restart takes, so that the
# restart falls between two passes and the next one meets the connection it left.
WORKER_INTERVAL = 3


# --- A private PostgreSQL ---


class PrivatePostgres:
    """A PostgreSQL cluster of its own in a temporary directory, on a free port, listening on
    127.0.0.1 only (no Unix socket, so nothing of the shared server's is touched)."""

    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="changedesk-pg-"))
        self.data = self.directory / "data"
        self.log = self.directory / "postgres.log"
        self.port = _free_port()
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/postgres"
        if AS_ROOT:
            shutil.chown(self.directory, "postgres", "postgres")
        self._run(INITDB, "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                  "--locale=C", "--no-sync")  # fmt: skip

    def _run(self, *argv: str | None) -> None:
        command = _as_owner(argv)
        done = subprocess.run(  # noqa: S603 - PostgreSQL's own programs
            command, capture_output=True, text=True, timeout=60, check=False, cwd=self.directory
        )
        assert done.returncode == 0, f"{command}: {done.stdout}{done.stderr}{self._log_tail()}"

    def _ctl(self, action: str, *extra: str) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' "
            "-c max_connections=40"
        )
        self._run(PG_CTL, "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "-o",
                  options, *extra, action)  # fmt: skip

    def start(self) -> None:
        self._ctl("start")

    def stop(self) -> None:
        self._ctl("stop", "-m", "fast")

    def restart(self) -> None:
        self._ctl("restart", "-m", "fast")

    def remove(self) -> None:
        if (self.data / "postmaster.pid").exists():
            stop = _as_owner((PG_CTL, "-D", str(self.data), "-m", "immediate", "-w", "stop"))
            subprocess.run(stop, capture_output=True, timeout=60, check=False)  # noqa: S603
        shutil.rmtree(self.directory, ignore_errors=True)

    def _log_tail(self) -> str:
        return self.log.read_text()[-2000:] if self.log.exists() else ""


def _as_owner(argv: tuple[str | None, ...]) -> list[str]:
    """`argv` as the cluster's owner: the `postgres` user when this runs as root."""
    command = [str(arg) for arg in argv]
    return ["runuser", "-u", "postgres", "--", *command] if AS_ROOT else command


@pytest.fixture
def postgres() -> Iterator[PrivatePostgres]:
    database = PrivatePostgres()
    try:
        database.start()
        yield database
    finally:
        database.remove()


# --- changedesk against it ---


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _command() -> list[str]:
    script = Path(sys.executable).with_name("changedesk")
    return [str(script)] if script.exists() else [sys.executable, "-m", "changedesk.cli"]


def _wait_for(predicate: Callable[[], bool], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


@dataclass
class Answer:
    status: int  # 0: no HTTP answer at all
    headers: dict[str, str]
    body: bytes
    started: float  # time.monotonic() when it was sent

    def json(self) -> dict:
        return json.loads(self.body)


class Site:
    def __init__(self, base: str, token: str) -> None:
        self.base = base
        self.token = token
        self.browser = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def api(self, method: str, path: str, data: dict | None = None) -> Answer:
        headers = {"Authorization": f"Token {self.token}", "Accept": "application/json"}
        body = None
        if data is not None:
            body = json.dumps(data).encode()
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(self.base + path, body, headers, method=method)  # noqa: S310
        return _send(urllib.request.urlopen, request)

    def page(self, path: str, form: dict | None = None) -> Answer:
        body = urllib.parse.urlencode(form).encode() if form is not None else None
        request = urllib.request.Request(self.base + path, body)  # noqa: S310
        return _send(self.browser.open, request)

    def sign_in(self, username: str) -> None:
        login = self.page("/accounts/login/")
        assert login.status == 200
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', login.body)
        assert token is not None
        form = {"username": username, "password": PASSWORD}
        signed_in = self.page("/accounts/login/", form | {"csrfmiddlewaretoken": token.group(1)})
        assert signed_in.status == 200 and b"Sign out" in signed_in.body


def _send(open_: Callable, request: urllib.request.Request) -> Answer:
    started = time.monotonic()
    try:
        with open_(request, timeout=30) as response:
            return Answer(response.status, dict(response.headers), response.read(), started)
    except urllib.error.HTTPError as error:
        return Answer(error.code, dict(error.headers), error.read(), started)
    except OSError:
        return Answer(0, {}, b"", started)


def _environment(tmp: Path, postgres: PrivatePostgres, site: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DEBUG")}
    return env | {
        "DATA_DIR": str(tmp),
        "DATABASE_URL": postgres.url,
        "DEBUG": "false",
        "HTTPS": "false",
        "EMAIL_URL": "console://",
        "SITE_URL": site,
        "WEB_CONCURRENCY": "2",
        "GUNICORN_CMD_ARGS": f"--access-logformat '{ACCESS_LOG_FORMAT}'",
    }


def _changedesk(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(  # noqa: S603
        [*_command(), *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, f"{args}: {done.stderr}"
    return done.stdout


def _served_by(log: Path, since: int) -> list[str]:
    """The gunicorn worker pids in the access log's lines after byte `since`."""
    text = log.read_bytes()[since:].decode(errors="replace")
    return re.findall(r"^<(\d+)> \d{3} \"", text, re.MULTILINE)


def _on_every_worker(site: Site, log: Path, call: Callable[[], Answer]) -> list[Answer]:
    """`call` in bursts of concurrent requests until both web workers have answered at
    least three each (per the access log); every answer."""
    answers: list[Answer] = []
    since = log.stat().st_size
    deadline = time.monotonic() + 30
    with ThreadPoolExecutor(4) as pool:
        while True:
            answers += pool.map(lambda _: call(), range(6))
            time.sleep(0.2)  # the access log is written as the response goes out
            pids = _served_by(log, since)
            if len(set(pids)) >= 2 and all(pids.count(pid) >= 3 for pid in set(pids)):
                return answers
            assert time.monotonic() < deadline, f"not every worker answered: {pids}"


def _pass_failures_after(log: Path, moment: datetime) -> list[str]:
    """The outbox worker's failed passes logged after `moment` (its log's local times)."""
    failures = []
    for line in log.read_text().splitlines():
        if WORKER_PASS_FAILED in line:
            when = datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f")
            if when > moment:
                failures.append(line)
    return failures


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


SETUP = """
from django.core.management import call_command
call_command("school", "add", "Restart Academy", "--slug", "restart")
for name, role in (("olivia", "originator"), ("ian", "initial_approver")):
    call_command("user", "add", name, "--email", f"{name}@restart.example",
                 "--password", PASSWORD, "--school", "restart", "--role", role)
call_command("token", "olivia")
"""


def test_a_database_restart_fails_no_request_once_it_is_back_and_loses_nothing(tmp_path, postgres):
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = _environment(tmp_path, postgres, base)
    server_log = tmp_path / "server.log"
    worker_log = tmp_path / "worker.log"
    with server_log.open("w") as out:
        server = subprocess.Popen(  # noqa: S603
            [*_command(), "serve", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    worker: subprocess.Popen | None = None
    try:
        _wait_for(lambda: _send(urllib.request.urlopen, urllib.request.Request(base)).status > 0)
        # The school, its people and a token, through the commands an operator would use.
        printed = _changedesk(env, "shell", "-c", SETUP.replace("PASSWORD", repr(PASSWORD)))
        site = Site(base, printed.split()[-1])
        site.sign_in("olivia")
        with worker_log.open("w") as out:
            worker = subprocess.Popen(  # noqa: S603
                [*_command(), "worker", "--interval", str(WORKER_INTERVAL)],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        rfc = REQUEST | {"school": "restart", "initial_approver": "ian"}

        def submit_and_see_it_sent() -> None:
            """Raise and submit an RFC, and wait for the outbox worker to send its mail."""
            raised = site.api("POST", "/api/v1/changes/", rfc)
            assert raised.status == 201, raised.body
            sent_before = worker_log.read_text().count(SENT_TO_IAN)
            submit = {"action": "submit"}
            done = site.api("POST", f"/api/v1/changes/{raised.json()['id']}/actions/", submit)
            assert done.status == 200, done.body
            _wait_for(lambda: worker_log.read_text().count(SENT_TO_IAN) > sent_before, 30)

        # 1. Restarted while nothing uses it: both web workers and the outbox worker hold a
        # connection from before (the outbox worker has just sent a mail, and sleeps).
        warm = _on_every_worker(site, server_log, lambda: site.api("GET", "/api/v1/changes/"))
        assert {answer.status for answer in warm} == {200}
        submit_and_see_it_sent()
        postgres.restart()
        back_at = datetime.now()  # the worker log's times are local
        # Once it is back nothing fails, on either web worker, and the worker's passes work.
        after = _on_every_worker(site, server_log, lambda: site.api("GET", "/api/v1/changes/"))
        after += _on_every_worker(site, server_log, lambda: site.page("/"))
        failed = [(a.status, a.body[:200]) for a in after if a.status != 200]
        assert not failed, failed
        submit_and_see_it_sent()
        # (A second's slack for a pass that began, and failed, just before it was back.)
        assert not _pass_failures_after(worker_log, back_at + timedelta(seconds=1))

        # 2. Restarted while RFCs are raised, one after another.
        raised: list[Answer] = []
        stop_raising = threading.Event()

        def raise_rfcs() -> None:
            while not stop_raising.is_set():
                raised.append(site.api("POST", "/api/v1/changes/", rfc))

        raiser = threading.Thread(target=raise_rfcs)
        raiser.start()
        try:
            time.sleep(0.5)
            postgres.restart()
            back = time.monotonic()
            time.sleep(1)
        finally:
            stop_raising.set()
            raiser.join(timeout=60)
        # While it restarted a request may have been refused, but never with a 500; once
        # it was back, none was.
        assert {a.status for a in raised} <= {201, 503}, {a.status for a in raised}
        assert {a.status for a in raised if a.started >= back} <= {201}
        # Every RFC whose creation was answered 201 is there.
        created = [a.json()["id"] for a in raised if a.status == 201]
        for pk in created:
            assert site.api("GET", f"/api/v1/changes/{pk}/").status == 200, pk

        # 3. Stopped: a 503 with a Retry-After, JSON for the API, the product's page for a
        # page, on either web worker.
        postgres.stop()
        down = _on_every_worker(site, server_log, lambda: site.api("GET", "/api/v1/changes/"))
        assert {a.status for a in down} == {503}
        assert all(a.headers.get("Retry-After", "").isdigit() for a in down)
        assert all(a.headers["Content-Type"] == "application/json" for a in down)
        assert all(set(a.json()) == {"detail"} for a in down)
        pages = _on_every_worker(site, server_log, lambda: site.page("/"))
        assert {a.status for a in pages} == {503}
        assert all(a.headers.get("Retry-After", "").isdigit() for a in pages)
        assert all(b"<title>Back in a moment \xc2\xb7 changedesk</title>" in a.body for a in pages)
        posted = site.api("POST", "/api/v1/changes/", rfc)
        assert posted.status == 503, posted.body

        # 4. Started again: everything works at once.
        postgres.start()
        again = _on_every_worker(site, server_log, lambda: site.api("GET", "/api/v1/changes/"))
        again += _on_every_worker(site, server_log, lambda: site.page("/"))
        again.append(site.api("POST", "/api/v1/changes/", rfc))
        failed = [(a.status, a.body[:200]) for a in again if a.status not in (200, 201)]
        assert not failed, failed
    finally:
        if worker is not None:
            _stop(worker)
        _stop(server)
    # The refusals were logged as what they were.
    assert "Internal Server Error" not in server_log.read_text()
