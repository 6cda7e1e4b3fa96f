"""`changedesk school add NAME` and `changedesk school list`."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError, CommandParser
from django.db.models import Count
from django.utils.text import slugify

from changedesk.accounts.models import School
from changedesk.accounts.services import create_school
from changedesk.lib.management import base
from changedesk.lib.management.base import PROG, validation_message


class Command(base.Command):
    help = "add or list schools"

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(
            title="school commands", dest="command", metavar="COMMAND", required=True
        )
        add = self.add_subcommand(commands, "add", help="add a school")
        add.add_argument("name", help='the school\'s name, e.g. "Greenfield Primary"')
        add.add_argument("--slug", help="short name used in references and URLs")
        add.add_argument(
            "--no-peer-review",
            action="store_true",
            help="leave peer review out (FITS allows it while a school starts out)",
        )
        add.add_argument(
            "--final-approver-may-be-originator",
            action="store_true",
            help="allow the person who raised an RFC to give its final approval",
        )
        add.add_argument("--timezone", default="Europe/London", help="default Europe/London")
        self.add_subcommand(commands, "list", help="list the schools")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["command"] == "add":
            self.add_school(options)
        else:
            self.list_schools()

    def add_school(self, options: dict[str, Any]) -> None:
        name: str = options["name"]
        slug = options["slug"] or slugify(name)
        if School.objects.filter(slug=slug).exists():
            raise CommandError(f"a school with the slug {slug!r} already exists")
        try:
            school = create_school(
                name,
                slug,
                peer_review_enabled=not options["no_peer_review"],
                final_approver_may_be_originator=options["final_approver_may_be_originator"],
                timezone=options["timezone"],
            )
        except ValidationError as exc:
            raise CommandError(validation_message(exc)) from None
        review = "on" if school.peer_review_enabled else "off"
        self.stdout.write(
            f"Added {school.name} ({school.slug}): peer review {review}, "
            f"time zone {school.timezone}."
        )

    def list_schools(self) -> None:
        schools = (
            School.objects.annotate(members=Count("memberships"))
            .order_by("slug")
            .values_list("slug", "name", "timezone", "peer_review_enabled", "members")
        )
        rows = [("SLUG", "NAME", "TIME ZONE", "PEER REVIEW", "MEMBERS")] + [
            (slug, name, zone, "on" if peer_review else "off", str(members))
            for slug, name, zone, peer_review, members in schools
        ]
        if len(rows) == 1:
            self.stdout.write(f"No schools yet. Add one with: {PROG} school add NAME --slug SLUG")
            return
        for line in base.table(rows):
            self.stdout.write(line)
