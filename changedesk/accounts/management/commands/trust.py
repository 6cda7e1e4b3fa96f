"""`changedesk trust add|list|add-school|remove-school|roles`: trusts, for an operator."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError, CommandParser
from django.db.models import Count
from django.utils.text import slugify

from changedesk.accounts import trusts
from changedesk.accounts.choices import TrustRole
from changedesk.accounts.models import School, Trust, User
from changedesk.lib.errors import WorkflowError
from changedesk.lib.management import base
from changedesk.lib.management.base import PROG, validation_message


class Command(base.Command):
    help = "add and list trusts, put schools in them and give trust roles"

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(
            title="trust commands", dest="command", metavar="COMMAND", required=True
        )
        add = self.add_subcommand(commands, "add", help="add a trust")
        add.add_argument("name", help='the trust\'s name, e.g. "Northfield Learning Trust"')
        add.add_argument("--slug", help="short name used in URLs")
        self.add_subcommand(commands, "list", help="list the trusts")
        join = self.add_subcommand(commands, "add-school", help="put a school in a trust")
        join.add_argument("trust", help="the trust's slug")
        join.add_argument("school", help="the school's slug")
        leave = self.add_subcommand(
            commands, "remove-school", help="take a school out of its trust"
        )
        leave.add_argument("school", help="the school's slug")
        roles = self.add_subcommand(
            commands,
            "roles",
            help="give a person exactly these trust roles (none: they leave the trust)",
        )
        roles.add_argument("trust", help="the trust's slug")
        roles.add_argument("username", help="the person's sign-in name")
        roles.add_argument(
            "roles", nargs="*", metavar="ROLE", help=f"any of: {', '.join(TrustRole.values)}"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        command = options["command"]
        try:
            if command == "add":
                self.add_trust(options["name"], options["slug"])
            elif command == "list":
                self.list_trusts()
            elif command == "add-school":
                trust, school = self._trust(options["trust"]), self._school(options["school"])
                trusts.add_school(trust, school)
                self.stdout.write(f"{school.name} is in {trust.name}.")
            elif command == "remove-school":
                school = self._school(options["school"])
                was = school.trust
                trusts.remove_school(school)
                left = f"has left {was.name}" if was else "is in no trust"
                self.stdout.write(f"{school.name} {left}.")
            else:
                self.set_roles(options["trust"], options["username"], options["roles"])
        except ValidationError as exc:
            raise CommandError(validation_message(exc)) from None
        except WorkflowError as exc:
            raise CommandError(str(exc)) from None

    def add_trust(self, name: str, slug: str | None) -> None:
        slug = slug or slugify(name)
        if Trust.objects.filter(slug=slug).exists():
            raise CommandError(f"a trust with the slug {slug!r} already exists")
        trust = trusts.create_trust(name, slug)
        self.stdout.write(
            f"Added {trust.name} ({trust.slug}). Next: {PROG} trust add-school {trust.slug} "
            f"SCHOOL, and {PROG} trust roles {trust.slug} USERNAME trust_admin"
        )

    def list_trusts(self) -> None:
        found = (
            Trust.objects.annotate(
                school_count=Count("schools", distinct=True),
                people=Count("memberships__user", distinct=True),
            )
            .order_by("slug")
            .values_list("slug", "name", "school_count", "people")
        )
        rows = [("SLUG", "NAME", "SCHOOLS", "PEOPLE")] + [
            (slug, name, str(n), str(people)) for slug, name, n, people in found
        ]
        if len(rows) == 1:
            self.stdout.write(f"No trusts yet. Add one with: {PROG} trust add NAME --slug SLUG")
            return
        for line in base.table(rows):
            self.stdout.write(line)

    def set_roles(self, slug: str, username: str, roles: list[str]) -> None:
        trust = self._trust(slug)
        person = User.objects.filter(username=username).first()
        if person is None:
            raise CommandError(f"no one has the sign-in name {username!r}")
        held = trusts.set_trust_roles(trust, person, roles)
        if held:
            self.stdout.write(f"{person.display_name} is {', '.join(held)} of {trust.name}.")
        else:
            self.stdout.write(f"{person.display_name} holds no role in {trust.name}.")

    def _trust(self, slug: str) -> Trust:
        trust = Trust.objects.filter(slug=slug).first()
        if trust is None:
            raise CommandError(f"no trust has the slug {slug!r} (see: {PROG} trust list)")
        return trust

    def _school(self, slug: str) -> School:
        school = School.objects.select_related("trust").filter(slug=slug).first()
        if school is None:
            raise CommandError(f"no school has the slug {slug!r} (see: {PROG} school list)")
        return school
