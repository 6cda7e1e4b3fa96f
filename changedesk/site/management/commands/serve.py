"""`changedesk serve`: migrate, collect the static files, and serve."""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError, CommandParser
from django.db import connections

from changedesk.lib.env import env_int
from changedesk.lib.management import base

TIMEOUT = 30


class Command(base.Command):
    help = "migrate, collect static files and serve the web application"
    description = (
        "Migrate the database, collect the static files, then serve with gunicorn "
        "(WEB_CONCURRENCY workers, default 2, each request given at most 30 seconds; extra "
        "options, a --timeout among them, in GUNICORN_CMD_ARGS), or with "
        "Django's auto-reloading development server when DEBUG is true. With --worker, an "
        "outbox worker runs beside the server and stops with it (what `make run` does); in "
        "production run `changedesk worker` as a service of its own."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
        parser.add_argument("--port", type=_port, default=8000, help="port to listen on (8000)")
        parser.add_argument(
            "--worker",
            action="store_true",
            help="also send the outbox from a worker beside the server, stopped with it",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        host: str = options["host"]
        port: int = options["port"]
        # Django's reloader runs this command again in a child process on every code change;
        # the parent has already migrated.
        if os.environ.get("RUN_MAIN") != "true":
            call_command("migrate", interactive=False)
            if not settings.DEBUG:
                # In development the static files are served straight from the apps.
                call_command("collectstatic", interactive=False, verbosity=0)
        address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        # The development server's reloader runs this command again in its child: only the
        # parent starts the outbox worker.
        beside = options["worker"] and os.environ.get("RUN_MAIN") != "true"
        if settings.DEBUG:
            with _outbox_worker(beside):
                call_command("runserver", address)
            return
        workers = env_int("WEB_CONCURRENCY", 2)
        if workers < 1:
            raise CommandError(f"WEB_CONCURRENCY must be at least 1, not {workers}")
        connections.close_all()
        gunicorn = [
            sys.executable,
            "-m",
            "gunicorn",
            "changedesk.wsgi:application",
            "--bind",
            address,
            "--workers",
            str(workers),
            "--access-logfile",
            "-",
        ]
        if not _names_timeout(os.environ.get("GUNICORN_CMD_ARGS", "")):
            # A worker stuck on one request is killed and replaced after this long (the
            # command line would win over GUNICORN_CMD_ARGS, so it is left out when that
            # names one).
            gunicorn += ["--timeout", str(TIMEOUT)]
        if not beside:
            _exec(gunicorn)
            return
        with _outbox_worker(True):
            _supervise(gunicorn)


def _exec(argv: list[str]) -> None:
    """Replace this process (so gunicorn gets the supervisor's signals directly)."""
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(argv[0], argv)  # noqa: S606 - a fixed program: this Python running gunicorn


def _supervise(argv: list[str]) -> None:
    """Run `argv` as a child until it ends, passing on SIGTERM (Ctrl-C reaches it directly)."""
    sys.stdout.flush()
    child = subprocess.Popen(argv)  # noqa: S603 - a fixed program: this Python running gunicorn
    previous = signal.signal(signal.SIGTERM, lambda *_: child.terminate())
    try:
        child.wait()
    except KeyboardInterrupt:
        child.wait()
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def _outbox_worker(start: bool) -> Iterator[None]:
    """`changedesk worker` in a child process while the block runs, when `start`."""
    if not start:
        yield
        return
    sys.stdout.flush()
    # A fixed program: this Python running changedesk's command line.
    worker = subprocess.Popen([sys.executable, "-m", "changedesk.cli", "worker", "--interval", "2"])
    try:
        yield
    except KeyboardInterrupt:
        pass
    finally:
        if worker.poll() is None:
            worker.terminate()
        try:
            worker.wait(timeout=10)
        except subprocess.TimeoutExpired:
            worker.kill()


def _names_timeout(args: str) -> bool:
    try:
        words = shlex.split(args)
    except ValueError:
        return False
    return any(w in ("-t", "--timeout") or w.startswith(("--timeout=", "-t")) for w in words)


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {value!r}") from None
    if not 0 < port < 65536:
        raise argparse.ArgumentTypeError(f"a port is 1 to 65535, not {port}")
    return port
