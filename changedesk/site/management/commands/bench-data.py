"""`changedesk bench-data`: a trust's worth of schools and RFCs, made fast, to benchmark
against (see `changedesk.site.benchdata`)."""

from __future__ import annotations

import argparse
from datetime import date
from typing import Any

from django.core.management.base import CommandError, CommandParser

from changedesk.lib.management import base
from changedesk.site.benchdata import (
    DEFAULT_PASSWORD,
    DEFAULT_PREFIX,
    DEFAULT_SEED,
    BenchDataRefused,
    generate,
)


class Command(base.Command):
    help = "generate a large benchmark data set (schools, people, RFCs, history) fast"
    description = (
        "Make SCHOOLS new schools (slugs PREFIX-001 …, Zipf-like sizes) with their calendars, "
        "items and people in every FITS role, and CHANGES RFCs spread over five years in every "
        "state, with their items and hash-chained history (which `changedesk verify-history` "
        "checks), in one transaction: COPY on PostgreSQL, large batches on SQLite. Also two "
        "people to measure with, PREFIX-one (one big school) and PREFIX-ten (ten schools), "
        "with the password printed at the end; no superuser. Refused when a school or person "
        "it would make exists already. Run it on a quiet database, never a live one: the "
        "password is published. The same --seed and --today on the same database make the "
        "same data."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--schools", type=_count, default=200, help="schools to make (default 200)"
        )
        parser.add_argument(
            "--changes", type=_count, default=500_000, help="RFCs to make (default 500000)"
        )
        parser.add_argument(
            "--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})"
        )
        parser.add_argument(
            "--today",
            type=_day,
            default=None,
            help="the day the history runs up to, YYYY-MM-DD (default: today, UTC)",
        )
        parser.add_argument(
            "--items-per-school",
            type=_count,
            default=None,
            help="configuration items in each school (default: 12 plus one per 40 RFCs)",
        )
        parser.add_argument(
            "--prefix",
            default=DEFAULT_PREFIX,
            help=f"of the schools' slugs and the usernames (default {DEFAULT_PREFIX})",
        )
        parser.add_argument(
            "--password",
            default=DEFAULT_PASSWORD,
            help=f"everyone's password (default {DEFAULT_PASSWORD})",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        verbose = options["verbosity"] >= 1
        try:
            summary = generate(
                options["schools"],
                options["changes"],
                seed=options["seed"],
                prefix=options["prefix"],
                password=options["password"],
                items_per_school=options["items_per_school"],
                today=options["today"],
                progress=self._progress if verbose else None,
            )
        except BenchDataRefused as exc:
            raise CommandError(str(exc)) from None
        counts = summary.counts
        sizes = summary.sizes
        self.stdout.write(
            f"Made {counts['schools']} schools ({sizes[0]} RFCs in the biggest, "
            f"{sizes[len(sizes) // 2]} in the middle one, {sizes[-1]} in the smallest), "
            f"{counts['people']} people in {counts['memberships']} memberships, "
            f"{counts['configuration items']} items, {counts['calendar periods']} calendar "
            f"periods, {counts['RFCs']} RFCs ({counts['emergencies']} emergencies), "
            f"{counts['item links']} item links and {counts['history events']} history events "
            f"on {summary.database} in {summary.seconds:.1f} s."
        )
        if verbose:
            states = ", ".join(f"{state} {n}" for state, n in summary.states.most_common())
            self.stdout.write(f"RFCs by state: {states}.")
        self.stdout.write(
            f"Sign in as {summary.one_school_user} (one school) or {summary.ten_school_user} "
            f"(ten: {', '.join(summary.ten_school_slugs)}), password {summary.password}."
        )

    def _progress(self, message: str) -> None:
        self.stdout.write(message)
        self.stdout.flush()


def _count(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if number < 0:
        raise argparse.ArgumentTypeError(f"must not be negative: {number}")
    return number


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from None
