"""`changedesk user add USERNAME --school SLUG --role ROLE …`.

An operator's command (whoever runs it can reach the database): it adds people directly.
A school administrator on the pages invites instead (`accounts.services.invite`)."""

from __future__ import annotations

import getpass
import sys
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError, CommandParser
from django.db import transaction

from changedesk.accounts.choices import Role
from changedesk.accounts.models import School, User
from changedesk.accounts.services import create_user, set_membership
from changedesk.lib.management import base
from changedesk.lib.management.base import PROG, validation_message


class Command(base.Command):
    help = "add people"

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(
            title="user commands", dest="command", metavar="COMMAND", required=True
        )
        add = self.add_subcommand(
            commands,
            "add",
            help="add a person to a school with their roles",
            description="Add a person to a school with their FITS roles. If the username "
            "exists, their roles in that school are replaced by the ones given. This is the "
            "operator's way, and direct: the pages invite by e-mail instead, and the person "
            "joins only when they accept.",
        )
        add.add_argument("username")
        add.add_argument("--email", help="needed for a new user")
        add.add_argument(
            "--password",
            help="needed for a new user; `-` reads it from standard input; "
            "without it you are asked for it",
        )
        add.add_argument("--school", required=True, help="the school's slug")
        add.add_argument(
            "--role",
            action="append",
            required=True,
            choices=Role.values,
            metavar="ROLE",
            help=f"repeat for several: {', '.join(Role.values)}",
        )
        add.add_argument("--first-name", default="")
        add.add_argument("--last-name", default="")
        add.add_argument("--job-title", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        self.add_user(options)

    def add_user(self, options: dict[str, Any]) -> None:
        username: str = options["username"]
        school = _school(options["school"])
        roles = list(dict.fromkeys(options["role"]))
        labels = ", ".join(Role(role).label.lower() for role in roles)
        existing = User.objects.filter(username=username).first()
        if existing is not None:
            set_membership(existing, school, roles)
            unchanged = (
                " (their e-mail and password are unchanged)"
                if options["email"] or options["password"]
                else ""
            )
            self.stdout.write(
                f"{existing.username} already exists; their roles at {school.name} "
                f"are now: {labels}{unchanged}."
            )
            return
        if not options["email"]:
            raise CommandError(f"--email is needed for a new user ({username})")
        password = _password(options["password"])
        candidate = User(
            username=username,
            email=options["email"],
            first_name=options["first_name"],
            last_name=options["last_name"],
        )
        try:
            validate_password(password, candidate)
        except ValidationError as exc:
            raise CommandError("password: " + " ".join(exc.messages)) from None
        try:
            with transaction.atomic():
                user = create_user(
                    username,
                    email=options["email"],
                    password=password,
                    first_name=options["first_name"],
                    last_name=options["last_name"],
                    job_title=options["job_title"],
                    check_password=False,
                )
                set_membership(user, school, roles)
        except ValidationError as exc:
            raise CommandError(validation_message(exc)) from None
        self.stdout.write(
            f"Added {user.username} ({user.display_name}) to {school.name} as {labels}."
        )


def _school(slug: str) -> School:
    school = School.objects.filter(slug=slug).first()
    if school is None:
        known = ", ".join(School.objects.order_by("slug").values_list("slug", flat=True)[:20])
        hint = f"; known: {known}" if known else f"; add it with `{PROG} school add`"
        raise CommandError(f"no school with the slug {slug!r}{hint}")
    return school


def _password(given: str | None) -> str:
    if given == "-":
        password = sys.stdin.readline().rstrip("\r\n")
    elif given is not None:
        password = given
    elif sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if getpass.getpass("Password (again): ") != password:
            raise CommandError("the passwords do not match")
    else:
        raise CommandError("--password is needed for a new user (`-` reads standard input)")
    if not password:
        raise CommandError("the password is empty")
    return password
