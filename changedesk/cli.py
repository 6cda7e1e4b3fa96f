"""The `changedesk` command: Django's management commands, plus the operator's own.

    changedesk serve | worker | demo | school add/list | user add | token | verify-history

Anything else (`changedesk migrate`, `changedesk createsuperuser`, `changedesk check
--deploy`, …) is handed to Django. Errors are one line on stderr and a non-zero exit.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

from changedesk.accounts.choices import Role

if TYPE_CHECKING:
    from django.core.exceptions import ValidationError

    from changedesk.accounts.models import School, User

PROG = "changedesk"
SETTINGS = "changedesk.settings"


class CommandFailed(Exception):
    """What went wrong, in one line for the person at the terminal."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line too (and `main` returns instead of exiting)."""

    def error(self, message: str) -> NoReturn:
        raise CommandFailed(f"{message} (see `{self.prog} --help`)", status=2)


def main(argv: Sequence[str] | None = None) -> int:
    """Run `changedesk ARGS`; returns the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", SETTINGS)
    parser = build_parser()
    if not args or args[0] in ("-h", "--help"):
        parser.print_help()
        return 0
    traceback = "--traceback" in args
    try:
        if args[0] not in COMMANDS:
            return _django(args)
        namespace = parser.parse_args(args)
        _setup()
        handler: Callable[[argparse.Namespace], int] = namespace.handler
        return handler(namespace)
    except CommandFailed as exc:
        _error(str(exc))
        return exc.status
    except SystemExit as exc:  # argparse's --help, or a Django command that exits
        return _exit_status(exc.code)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        if traceback:
            raise
        _error(_describe(exc))
        return 1


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="FITS change management for schools. Besides the commands below, "
        "every Django management command works too: changedesk migrate, changedesk "
        "createsuperuser, changedesk check --deploy, … (changedesk help --commands "
        "lists them).",
    )
    common = _Parser(add_help=False)
    common.add_argument("--traceback", action="store_true", help="show the full error")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    serve = commands.add_parser(
        "serve",
        parents=[common],
        help="migrate, collect static files and serve the web application",
        description="Migrate the database, collect the static files, then serve with "
        "gunicorn (WEB_CONCURRENCY workers, default 2; extra options in GUNICORN_CMD_ARGS), "
        "or with Django's auto-reloading development server when DEBUG is true.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    serve.add_argument("--port", type=_port, default=8000, help="port to listen on (8000)")
    serve.set_defaults(handler=serve_command)

    worker = commands.add_parser(
        "worker",
        parents=[common],
        help="send the queued e-mail, retrying while the mail server is down",
        description="Send the outbox until stopped (SIGTERM or Ctrl-C).",
    )
    worker.add_argument("--once", action="store_true", help="one pass, then exit")
    worker.add_argument(
        "--batch", type=_positive, default=50, help="messages per pass (default 50)"
    )
    worker.add_argument(
        "--interval", type=float, default=5, help="seconds between passes (default 5)"
    )
    worker.set_defaults(handler=worker_command)

    demo = commands.add_parser(
        "demo",
        parents=[common],
        help="build the demo school Greenfield Primary (idempotent)",
        description="Build the demo school, its people in every FITS role and an RFC in "
        "every state, and print the sign-ins. Running it again creates nothing new. "
        "The demo password is published: do not run this on a live instance.",
    )
    demo.set_defaults(handler=demo_command)

    school = commands.add_parser("school", help="add or list schools").add_subparsers(
        title="school commands", metavar="COMMAND", required=True
    )
    school_add = school.add_parser("add", parents=[common], help="add a school")
    school_add.add_argument("name", help='the school\'s name, e.g. "Greenfield Primary"')
    school_add.add_argument("--slug", help="short name used in references and URLs")
    school_add.add_argument(
        "--no-peer-review",
        action="store_true",
        help="leave peer review out (FITS allows it while a school starts out)",
    )
    school_add.add_argument(
        "--final-approver-may-be-originator",
        action="store_true",
        help="allow the person who raised an RFC to give its final approval",
    )
    school_add.add_argument("--timezone", default="Europe/London", help="default Europe/London")
    school_add.set_defaults(handler=school_add_command)
    school_list = school.add_parser("list", parents=[common], help="list the schools")
    school_list.set_defaults(handler=school_list_command)

    user = commands.add_parser("user", help="add people").add_subparsers(
        title="user commands", metavar="COMMAND", required=True
    )
    user_add = user.add_parser(
        "add",
        parents=[common],
        help="add a person to a school with their roles",
        description="Add a person to a school with their FITS roles. If the username "
        "exists, their roles in that school are replaced by the ones given.",
    )
    user_add.add_argument("username")
    user_add.add_argument("--email", help="needed for a new user")
    user_add.add_argument(
        "--password",
        help="needed for a new user; `-` reads it from standard input; "
        "without it you are asked for it",
    )
    user_add.add_argument("--school", required=True, help="the school's slug")
    user_add.add_argument(
        "--role",
        action="append",
        required=True,
        choices=Role.values,
        metavar="ROLE",
        help=f"repeat for several: {', '.join(Role.values)}",
    )
    user_add.add_argument("--first-name", default="")
    user_add.add_argument("--last-name", default="")
    user_add.add_argument("--job-title", default="")
    user_add.set_defaults(handler=user_add_command)

    token = commands.add_parser(
        "token", parents=[common], help="print an API token for a user (made if needed)"
    )
    token.add_argument("username")
    token.set_defaults(handler=token_command)

    verify = commands.add_parser(
        "verify-history",
        parents=[common],
        help="check every RFC's hash-chained history for tampering",
        description="Check every RFC's history chain. Exits 1 and names the first broken "
        "link of each RFC whose history was altered in the database.",
    )
    verify.set_defaults(handler=verify_history_command)
    return parser


COMMANDS = frozenset({"serve", "worker", "demo", "school", "user", "token", "verify-history"})


# --- The commands. ---


def serve_command(args: argparse.Namespace) -> int:
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connections

    from changedesk.lib.env import env_int

    # Django's reloader runs this command again in a child process on every code change;
    # the parent has already migrated.
    if os.environ.get("RUN_MAIN") != "true":
        call_command("migrate", interactive=False)
        if not settings.DEBUG:
            # In development the static files are served straight from the apps.
            call_command("collectstatic", interactive=False, verbosity=0)
    address = f"[{args.host}]:{args.port}" if ":" in args.host else f"{args.host}:{args.port}"
    if settings.DEBUG:
        call_command("runserver", address)
        return 0
    workers = env_int("WEB_CONCURRENCY", 2)
    if workers < 1:
        raise CommandFailed(f"WEB_CONCURRENCY must be at least 1, not {workers}")
    connections.close_all()
    _exec(
        [
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
    )
    return 0


def worker_command(args: argparse.Namespace) -> int:
    from changedesk.notifications.worker import run

    sent, failed = run(once=args.once, interval=args.interval, batch=args.batch)
    print(f"Sent {sent}, failed {failed}.")
    return 0


def demo_command(args: argparse.Namespace) -> int:
    from django.conf import settings
    from django.core.management import call_command

    from changedesk.changes.models import Change
    from changedesk.demo import SCHOOL_NAME, SCHOOL_SLUG, build_demo

    # `make run` builds the demo before `serve` migrates: a fresh machine has no tables yet.
    call_command("migrate", interactive=False, verbosity=0)
    if not settings.DEBUG:
        print(
            f"{PROG}: warning: the demo password is published; "
            "remove the demo people before going live.",
            file=sys.stderr,
        )
    sign_ins = build_demo()
    count = Change.objects.filter(school__slug=SCHOOL_SLUG).count()
    print(f"Demo school: {SCHOOL_NAME} ({SCHOOL_SLUG}), {count} RFCs.")
    print(f"Sign in at {_login_url()} as any of:")
    width = max(len(username) for username, _, _ in sign_ins)
    for username, password, roles in sign_ins:
        print(f"  {username:<{width}}  password {password}  ({roles})")
    return 0


def school_add_command(args: argparse.Namespace) -> int:
    from django.core.exceptions import ValidationError
    from django.utils.text import slugify

    from changedesk.accounts.models import School
    from changedesk.accounts.services import create_school

    slug = args.slug or slugify(args.name)
    if School.objects.filter(slug=slug).exists():
        raise CommandFailed(f"a school with the slug {slug!r} already exists")
    try:
        school = create_school(
            args.name,
            slug,
            peer_review_enabled=not args.no_peer_review,
            final_approver_may_be_originator=args.final_approver_may_be_originator,
            timezone=args.timezone,
        )
    except ValidationError as exc:
        raise CommandFailed(_validation_message(exc)) from None
    review = "on" if school.peer_review_enabled else "off"
    print(
        f"Added {school.name} ({school.slug}): peer review {review}, time zone {school.timezone}."
    )
    return 0


def school_list_command(args: argparse.Namespace) -> int:
    from django.db.models import Count

    from changedesk.accounts.models import School

    schools = list(School.objects.annotate(members=Count("memberships")).order_by("slug"))
    if not schools:
        print(f"No schools yet. Add one with: {PROG} school add NAME --slug SLUG")
        return 0
    rows = [("SLUG", "NAME", "TIME ZONE", "PEER REVIEW", "MEMBERS")] + [
        (
            s.slug,
            s.name,
            s.timezone,
            "on" if s.peer_review_enabled else "off",
            str(s.members),
        )
        for s in schools
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        print("  ".join(cells).rstrip())
    return 0


def user_add_command(args: argparse.Namespace) -> int:
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError
    from django.db import transaction

    from changedesk.accounts.models import User
    from changedesk.accounts.services import create_user, set_membership

    school = _school(args.school)
    roles = list(dict.fromkeys(args.role))
    labels = ", ".join(Role(role).label.lower() for role in roles)
    existing = User.objects.filter(username=args.username).first()
    if existing is not None:
        set_membership(existing, school, roles)
        unchanged = (
            " (their e-mail and password are unchanged)" if args.email or args.password else ""
        )
        print(
            f"{existing.username} already exists; their roles at {school.name} "
            f"are now: {labels}{unchanged}."
        )
        return 0
    if not args.email:
        raise CommandFailed(f"--email is needed for a new user ({args.username})")
    password = _password(args.password)
    candidate = User(
        username=args.username,
        email=args.email,
        first_name=args.first_name,
        last_name=args.last_name,
    )
    try:
        validate_password(password, candidate)
    except ValidationError as exc:
        raise CommandFailed("password: " + " ".join(exc.messages)) from None
    try:
        with transaction.atomic():
            user = create_user(
                args.username,
                email=args.email,
                password=password,
                first_name=args.first_name,
                last_name=args.last_name,
                job_title=args.job_title,
                check_password=False,
            )
            set_membership(user, school, roles)
    except ValidationError as exc:
        raise CommandFailed(_validation_message(exc)) from None
    print(f"Added {user.username} ({user.display_name}) to {school.name} as {labels}.")
    return 0


def token_command(args: argparse.Namespace) -> int:
    from rest_framework.authtoken.models import Token

    user = _user(args.username)
    if not user.is_active:
        raise CommandFailed(f"{user.username} is deactivated; a token would not work")
    token, _ = Token.objects.get_or_create(user=user)
    print(token.key)
    return 0


def verify_history_command(args: argparse.Namespace) -> int:
    from changedesk.changes.history import verify_all
    from changedesk.changes.models import Change, ChangeEvent

    broken = list(verify_all())
    changes = Change.objects.count()
    if broken:
        for link in broken:
            print(f"BROKEN {link}")
        first = f"; first: {broken[0]}" if len(broken) > 1 else f": {broken[0]}"
        raise CommandFailed(
            f"the history of {len(broken)} of {changes} RFCs was altered in the database{first}"
        )
    print(f"OK: {ChangeEvent.objects.count()} events in {changes} RFCs")
    return 0


# --- Helpers. ---


def _setup() -> None:
    """Start Django once (the tests have already started it)."""
    from django.apps import apps

    if apps.ready:
        return
    import django
    from django.core.exceptions import ImproperlyConfigured

    try:
        django.setup()
    except ImproperlyConfigured as exc:
        raise CommandFailed(f"configuration: {exc}") from None


def _django(args: list[str]) -> int:
    """Hand the command line to Django's management commands."""
    from django.core.management import execute_from_command_line, get_commands

    _setup()
    name = args[0]
    if not name.startswith("-") and name not in ("help", "version") and name not in get_commands():
        raise CommandFailed(f"unknown command {name!r} (see `{PROG} --help` and `{PROG} help`)")
    try:
        execute_from_command_line([PROG, *args])
    except SystemExit as exc:
        return _exit_status(exc.code)
    return 0


def _exec(argv: list[str]) -> None:
    """Replace this process (so gunicorn gets the supervisor's signals directly)."""
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(argv[0], argv)  # noqa: S606 - a fixed program: this Python running gunicorn


def _school(slug: str) -> School:
    from changedesk.accounts.models import School

    school = School.objects.filter(slug=slug).first()
    if school is None:
        known = ", ".join(School.objects.order_by("slug").values_list("slug", flat=True)[:20])
        hint = f"; known: {known}" if known else f"; add it with `{PROG} school add`"
        raise CommandFailed(f"no school with the slug {slug!r}{hint}")
    return school


def _user(username: str) -> User:
    from changedesk.accounts.models import User

    user = User.objects.filter(username=username).first()
    if user is None:
        raise CommandFailed(f"no user called {username!r}")
    return user


def _password(given: str | None) -> str:
    if given == "-":
        password = sys.stdin.readline().rstrip("\r\n")
    elif given is not None:
        password = given
    elif sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if getpass.getpass("Password (again): ") != password:
            raise CommandFailed("the passwords do not match")
    else:
        raise CommandFailed("--password is needed for a new user (`-` reads standard input)")
    if not password:
        raise CommandFailed("the password is empty")
    return password


def _login_url() -> str:
    from django.conf import settings
    from django.urls import NoReverseMatch, reverse

    try:
        path = reverse("accounts:login")
    except NoReverseMatch:
        path = "/"
    return f"{settings.SITE_URL}{path}"


def _validation_message(exc: ValidationError) -> str:
    from django.core.exceptions import NON_FIELD_ERRORS

    if not hasattr(exc, "error_dict"):
        return " ".join(exc.messages)
    parts = []
    for name, messages in exc.message_dict.items():
        text = " ".join(messages)
        parts.append(text if name == NON_FIELD_ERRORS else f"{name}: {text}")
    return "; ".join(parts)


def _describe(exc: Exception) -> str:
    """One line for an error nobody planned for: its kind and its first line."""
    from django.core.exceptions import ImproperlyConfigured, ValidationError
    from django.db import DatabaseError

    from changedesk.lib.errors import WorkflowError

    if isinstance(exc, ValidationError):
        return _validation_message(exc)
    if isinstance(exc, WorkflowError):
        return exc.message
    first = (str(exc).strip().splitlines() or [""])[0]
    if isinstance(exc, ImproperlyConfigured):
        return f"configuration: {first}"
    if isinstance(exc, DatabaseError):
        return f"database: {first} (is it migrated? try `{PROG} migrate`)"
    return f"{type(exc).__name__}: {first} (run again with --traceback for details)"


def _exit_status(code: Any) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def _error(message: str) -> None:
    print(f"{PROG}: error: {message}", file=sys.stderr)


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {value!r}") from None
    if not 0 < port < 65536:
        raise argparse.ArgumentTypeError(f"a port is 1 to 65535, not {port}")
    return port


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {number}")
    return number


if __name__ == "__main__":
    sys.exit(main())
