"""Backups: the whole database as one portable file (`changedesk backup`), and back again
into an empty database of either kind (`changedesk restore`).

The file is gzip'd JSON lines, the same whatever the database:

    {"format": "changedesk-backup", "version": 1, "changedesk": "0.1.0", "created_at": …,
     "database": "postgresql", "migrations": {"accounts": ["0007_…"], …},
     "counts": {"accounts.user": 8, …}}                      the header
    {"model": "accounts.user", "fields": ["id", "password", …]}  a table, in dependency order
    [1, "argon2$…", …]                                          its rows, by primary key
    …
    {"end": true, "rows": 1234}                                 the end

Every table of every app is in it, primary keys and all (so each RFC's hash-chained history
is restored exactly as it was, and still verifies), including Django's content types and
permissions, groups, API tokens and the admin's log. Not in it: sessions (everyone signs in
again) and the cache table (throttling counters and cached pages: it refills itself).

A backup is one consistent snapshot: it is read in one transaction (on PostgreSQL a read-only
REPEATABLE READ one; on SQLite a read transaction, which in WAL mode lets writers carry on),
streamed table by table so memory stays flat however many RFCs there are.

A restore needs an empty database at the same migrations as the code (a new database is
migrated first), loads the file in one transaction (all of it or nothing), replaces the
content types and permissions `migrate` made with the backup's, and sets the primary-key
sequences past the restored rows.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from importlib import metadata
from pathlib import Path
from typing import IO, Any, cast
from uuid import UUID

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.core.management.color import no_style
from django.db import (
    DEFAULT_DB_ALIAS,
    DatabaseError,
    IntegrityError,
    connections,
    models,
    transaction,
)
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone
from django.utils.duration import duration_iso_string

FORMAT = "changedesk-backup"
VERSION = 1
# Rows read from the database, and written to it, at a time.
CHUNK = 2000
# Not backed up: who is signed in (everyone signs in again after a restore); the tallies of
# RFCs, which the database keeps itself and makes again as the RFCs are restored
# (changes/tally.py).
EXCLUDED = frozenset({"sessions.session", "changes.tally"})
# Rows `migrate` creates in a new database; a restore replaces them with the backup's, so
# that their primary keys (which other rows refer to) are the same as before.
MIGRATE_CREATES = ("auth.permission", "contenttypes.contenttype")


# Told each table's name and row count as it is done (`--verbosity 2`).
Progress = Callable[[str, int], None] | None


@dataclass
class Summary:
    """What a backup wrote, or a restore loaded."""

    counts: dict[str, int]
    header: dict[str, Any] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return sum(self.counts.values())

    @property
    def tables(self) -> int:
        return len(self.counts)


# --- What is backed up, and in which order. ---


def backed_up_models() -> list[type[models.Model]]:
    """Every table of every installed app (the many-to-many tables too), each after the tables
    it refers to."""
    found = [
        model
        for model in apps.get_models(include_auto_created=True)
        if model._meta.managed and not model._meta.proxy and label(model) not in EXCLUDED
    ]
    return dependency_order(found)


def dependency_order(found: list[type[models.Model]]) -> list[type[models.Model]]:
    """`found`, each model after those its foreign keys point at (a cycle is broken where it
    is met: the constraints are checked when the restore commits)."""
    depends = {
        label(model): {
            label(f.related_model)
            for f in model._meta.local_concrete_fields
            if f.is_relation and isinstance(f.related_model, type)
        }
        - {label(model)}
        for model in found
    }
    remaining = list(found)
    ordered: list[type[models.Model]] = []
    while remaining:
        left = {label(model) for model in remaining}
        ready = [model for model in remaining if not depends[label(model)] & left]
        chosen = ready or remaining[:1]
        ordered += chosen
        remaining = [model for model in remaining if model not in chosen]
    return ordered


def label(model: type[models.Model]) -> str:
    return model._meta.label_lower


def columns(model: type[models.Model]) -> list[models.Field[Any, Any]]:
    return list(model._meta.local_concrete_fields)


def code_migrations() -> dict[str, list[str]]:
    """The latest migration of each app, as the code has them."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    leaves: dict[str, list[str]] = {}
    for app, name in loader.graph.leaf_nodes():
        leaves.setdefault(app, []).append(name)
    return {app: sorted(names) for app, names in sorted(leaves.items())}


def version() -> str:
    try:
        return metadata.version("changedesk")
    except metadata.PackageNotFoundError:
        return "unknown"


# --- Backing up. ---


def backup(path: Path, *, using: str = DEFAULT_DB_ALIAS, progress: Progress = None) -> Summary:
    """Write the whole database to `path` (replaced only once the backup is complete)."""
    connection = connections[using]
    if path.is_dir():
        raise CommandError(f"{path} is a directory: name the file to write")
    partial = path.with_name(f".{path.name}.partial-{os.getpid()}")
    try:
        # Only its owner may read it: it holds password hashes, API tokens and secret links.
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    except OSError as exc:
        raise CommandError(f"cannot write {path}: {exc.strerror}") from None
    try:
        with (
            os.fdopen(descriptor, "wb") as raw,
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=6) as zipped,
            snapshot(connection),
        ):
            summary = _write(zipped, connection, progress)
        try:
            os.replace(partial, path)
        except OSError as exc:
            raise CommandError(f"cannot write {path}: {exc.strerror}") from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return summary


def _write(out: gzip.GzipFile, connection: BaseDatabaseWrapper, progress: Progress) -> Summary:
    _require_migrated(connection, "back it up")
    found = backed_up_models()
    manager = {label(model): model._base_manager.using(connection.alias) for model in found}
    counts = {name: query.count() for name, query in manager.items()}
    header = {
        "format": FORMAT,
        "version": VERSION,
        "changedesk": version(),
        "created_at": timezone.now().isoformat(),
        "database": connection.vendor,
        "migrations": code_migrations(),
        "counts": counts,
    }
    _line(out, header)
    written = 0
    for model in found:
        fields = columns(model)
        _line(out, {"model": label(model), "fields": [f.attname for f in fields]})
        rows = (
            manager[label(model)]
            .order_by(model._meta.pk.attname)
            .values_list(*(f.attname for f in fields))
            .iterator(chunk_size=CHUNK)
        )
        count = _write_rows(out, rows, [i for i, f in enumerate(fields) if not _plain(f)])
        if count != counts[label(model)]:  # a snapshot cannot change under us; a guard
            raise CommandError(f"{label(model)} changed while it was read: no backup written")
        written += count
        if progress:
            progress(label(model), count)
    _line(out, {"end": True, "rows": written})
    return Summary(counts, header)


_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

# Fields whose values, as read, are JSON already; the others' go through `_encode`.
PLAIN = frozenset(
    {
        "AutoField",
        "BigAutoField",
        "BigIntegerField",
        "BooleanField",
        "CharField",
        "EmailField",
        "FloatField",
        "IntegerField",
        "JSONField",
        "PositiveBigIntegerField",
        "PositiveIntegerField",
        "PositiveSmallIntegerField",
        "SlugField",
        "SmallAutoField",
        "SmallIntegerField",
        "TextField",
        "URLField",
    }
)


def _plain(f: models.Field[Any, Any]) -> bool:
    return _kind(f) in PLAIN


def _kind(f: models.Field[Any, Any]) -> str:
    """A field's kind; a foreign key's is that of the field it refers to."""
    while f.is_relation:
        f = getattr(f, "target_field", f)
    return f.get_internal_type()


def _write_rows(out: gzip.GzipFile, rows: Iterator[tuple[Any, ...]], encode: list[int]) -> int:
    """Write `rows`, a line each (a chunk of lines at a time); returns how many."""
    count = 0
    lines: list[str] = []
    for row in rows:
        if encode:
            values = list(row)
            for i in encode:
                values[i] = _encode(values[i])
            lines.append(_dumps(values))
        else:
            lines.append(_dumps(row))
        if len(lines) == CHUNK:
            out.write(("\n".join(lines) + "\n").encode())
            count += len(lines)
            lines = []
    if lines:
        out.write(("\n".join(lines) + "\n").encode())
        count += len(lines)
    return count


def _line(out: gzip.GzipFile, value: Any) -> None:
    out.write(_dumps(value).encode() + b"\n")


def _encode(value: Any) -> Any:
    """A value read from the database as JSON (read back by its field's `to_python`)."""
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return duration_iso_string(value)
    if isinstance(value, Decimal | UUID):
        return str(value)
    if isinstance(value, bytes | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    return value


@contextmanager
def snapshot(connection: BaseDatabaseWrapper) -> Iterator[None]:
    """One transaction in which every read sees the database as it was when it started."""
    if connection.in_atomic_block:
        # Already in a transaction (a caller's, or a test's): that is the snapshot.
        with transaction.atomic(using=connection.alias):
            yield
        return
    connection.ensure_connection()
    if connection.vendor == "sqlite":
        # A plain (deferred) transaction: its first read fixes what it sees, and in WAL mode
        # writers carry on meanwhile. The IMMEDIATE one the settings ask for would hold the
        # write lock, and every write would wait for the backup.
        mode = getattr(connection, "transaction_mode", None)
        connection.transaction_mode = "DEFERRED"  # type: ignore[attr-defined]  # SQLite's own
        try:
            with transaction.atomic(using=connection.alias):
                yield
        finally:
            connection.transaction_mode = mode  # type: ignore[attr-defined]
        return
    with transaction.atomic(using=connection.alias):
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield


# --- Restoring. ---


def read_header(stream: Reader) -> dict[str, Any]:
    """The backup's header, checked against this code: refused when it is no backup, or a
    backup of another version of the database."""
    header = stream.next()
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise CommandError(f"{stream.path} is not a changedesk backup")
    if header.get("version") != VERSION:
        raise CommandError(
            f"{stream.path} is a backup in format {header.get('version')}; this changedesk "
            f"({version()}) reads format {VERSION}"
        )
    differences = _migration_differences(header.get("migrations") or {}, code_migrations())
    if differences:
        raise CommandError(
            f"{stream.path} was made at other migrations than this changedesk's "
            f"({'; '.join(differences[:3])}): restore it with the changedesk that made it "
            f"({header.get('changedesk', 'unknown')}), then upgrade"
        )
    return header


def _migration_differences(theirs: dict[str, Any], ours: dict[str, list[str]]) -> list[str]:
    differences = []
    for app in sorted(set(theirs) | set(ours)):
        backup_has, code_has = theirs.get(app), ours.get(app)
        if backup_has != code_has:
            differences.append(
                f"{app}: {_names(backup_has)} in the backup, {_names(code_has)} here"
            )
    return differences


def _names(value: Any) -> str:
    return ", ".join(map(str, value)) if value else "none"


def restore(path: Path, *, using: str = DEFAULT_DB_ALIAS, progress: Progress = None) -> Summary:
    """Load the backup at `path` into the empty database `using`, all of it or nothing."""
    connection = connections[using]
    with Reader.open(path) as stream:
        header = read_header(stream)
        prepare(connection)
        try:
            with transaction.atomic(using=using):
                counts = _load(stream, header, connection, progress)
        except DatabaseError as exc:
            # A row pointing at one not in the backup; or, from SQLite (which checks less),
            # a value this database refuses (text longer than its column allows).
            first = (str(exc).strip().splitlines() or [""])[0]
            problem = "does not fit this database"
            if isinstance(exc, IntegrityError):
                problem = "does not hold together"
            raise CommandError(f"{path} {problem} ({first}): nothing was restored") from None
    ContentType.objects.clear_cache()
    return Summary(counts, header)


def prepare(connection: BaseDatabaseWrapper) -> None:
    """Migrate a new database; refuse one that holds anything or is at other migrations."""
    recorder = MigrationRecorder(connection)
    if not recorder.has_table() or not recorder.applied_migrations():
        call_command("migrate", database=connection.alias, interactive=False, verbosity=0)
    _require_migrated(connection, "restore into it")
    for model in backed_up_models():
        if label(model) in MIGRATE_CREATES:
            continue
        if model._base_manager.using(connection.alias).exists():
            raise CommandError(
                f"the database is not empty ({label(model)} has rows): restore needs an "
                "empty, migrated database"
            )


def _require_migrated(connection: BaseDatabaseWrapper, doing: str) -> None:
    executor = MigrationExecutor(connection)
    if not executor.recorder.has_table():
        raise CommandError("the database is not set up: run `changedesk migrate` first")
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        raise CommandError(
            f"the database is behind this changedesk's migrations: run `changedesk migrate` "
            f"before you {doing}"
        )


def _load(
    stream: Reader, header: dict[str, Any], connection: BaseDatabaseWrapper, progress: Progress
) -> dict[str, int]:
    expected = header.get("counts")
    if not isinstance(expected, dict):
        raise stream.damaged("its header has no counts")
    known = {label(model): model for model in backed_up_models()}
    # What `migrate` made goes, and the backup's takes its place (with the rows that point at
    # it: none yet, the database is empty). Sessions are not backed up: nobody is signed in.
    for model in apps.get_models():
        if label(model) in (*MIGRATE_CREATES, *EXCLUDED):
            model._base_manager.using(connection.alias).all().delete()
    counts: dict[str, int] = {}
    item = stream.next()
    while not (isinstance(item, dict) and item.get("end") is True):
        if not isinstance(item, dict) or item.get("model") not in known:
            raise stream.damaged(f"expected a table, found {str(item)[:60]!r}")
        name = item["model"]
        if name in counts:
            raise stream.damaged(f"{name} appears twice")
        model = known[name]
        loader = TableLoader(model, connection)
        if item.get("fields") != loader.attnames:
            raise stream.damaged(f"the columns of {name} are not this changedesk's")
        item = stream.next()
        while isinstance(item, list):
            loader.add(item, stream)
            item = stream.next()
        counts[name] = loader.finish()
        if counts[name] != expected.get(name):
            said = expected.get(name)
            raise stream.damaged(f"{name} has {counts[name]} rows, its header says {said}")
        if progress:
            progress(name, counts[name])
    if item.get("rows") != sum(counts.values()) or set(counts) != set(expected):
        raise stream.damaged("its tables do not match its header")
    if stream.next(end_ok=True) is not None:
        raise stream.damaged("something follows its end")
    connection.check_constraints(table_names=[known[name]._meta.db_table for name in counts])
    reset = connection.ops.sequence_reset_sql(no_style(), [known[name] for name in counts])
    if reset:
        with connection.cursor() as cursor:
            for statement in reset:
                cursor.execute(statement)
    return counts


_TEXT = (str,)
_INTEGER = (int,)
# Kinds of field whose values, read from JSON as these types, go to the database as they are.
DIRECT: dict[str, tuple[type, ...]] = {
    "AutoField": _INTEGER,
    "BigAutoField": _INTEGER,
    "BigIntegerField": _INTEGER,
    "BooleanField": (bool,),
    "CharField": _TEXT,
    "EmailField": _TEXT,
    "FloatField": (float, int),
    "IntegerField": _INTEGER,
    "PositiveBigIntegerField": _INTEGER,
    "PositiveIntegerField": _INTEGER,
    "PositiveSmallIntegerField": _INTEGER,
    "SlugField": _TEXT,
    "SmallAutoField": _INTEGER,
    "SmallIntegerField": _INTEGER,
    "TextField": _TEXT,
    "URLField": _TEXT,
}


class TableLoader:
    """Inserts a table's rows, a chunk at a time, as they were (no `save()`, no signals, no
    `auto_now`: raw rows, as a database restore should be)."""

    def __init__(self, model: type[models.Model], connection: BaseDatabaseWrapper) -> None:
        self.connection = connection
        self.fields = columns(model)
        self.attnames = [f.attname for f in self.fields]
        quote = connection.ops.quote_name
        # Names from the models, quoted; the values are parameters.
        self.sql = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608
            quote(model._meta.db_table),
            ", ".join(quote(cast(str, f.column)) for f in self.fields),
            ", ".join(["%s"] * len(self.fields)),
        )
        self.convert = [self._converter(f) for f in self.fields]
        self.pending: list[list[Any]] = []
        self.count = 0

    def add(self, row: list[Any], stream: Reader) -> None:
        if len(row) != len(self.fields):
            raise stream.damaged("a row has the wrong number of columns")
        try:
            prepared = [convert(value) for convert, value in zip(self.convert, row, strict=True)]
        except ValidationError as exc:
            problem = " ".join(exc.messages)
            raise stream.damaged(f"a value cannot be read ({problem})") from None
        except (TypeError, ValueError) as exc:
            raise stream.damaged(f"a value cannot be read ({exc})") from None
        self.pending.append(prepared)
        if len(self.pending) >= CHUNK:
            self._flush()

    def finish(self) -> int:
        self._flush()
        return self.count

    def _converter(self, f: models.Field[Any, Any]) -> Callable[[Any], Any]:
        """What makes a value read from the file one for the database: the field's own
        conversions, or (for the kinds JSON holds as they are) the value itself."""
        types = DIRECT.get(_kind(f))

        def convert(value: Any) -> Any:
            if types and (value is None or type(value) in types):
                return value
            return self._prepare(f, value)

        return convert

    def _prepare(self, f: models.Field[Any, Any], value: Any) -> Any:
        if isinstance(f, models.JSONField):
            if value is None and not f.null:  # JSON's null, not SQL's NULL
                return self.connection.ops.adapt_json_value(None, f.encoder)
            return f.get_db_prep_save(value, self.connection)
        if value is None:
            return None
        return f.get_db_prep_save(f.to_python(value), self.connection)

    def _flush(self) -> None:
        if not self.pending:
            return
        with self.connection.cursor() as cursor:
            cursor.executemany(self.sql, self.pending)
        self.count += len(self.pending)
        self.pending = []


class Reader:
    """A backup file's items, one JSON value a line; anything unreadable is a one-line error."""

    def __init__(self, path: Path, stream: IO[str]) -> None:
        self.path = path
        self.stream = stream
        self.number = 0

    @classmethod
    @contextmanager
    def open(cls, path: Path) -> Iterator[Reader]:
        try:
            raw = path.open("rb")
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror}") from None
        with raw, gzip.open(raw, "rt", encoding="utf-8") as text:
            yield cls(path, text)

    def next(self, *, end_ok: bool = False) -> Any:
        try:
            line = self.stream.readline()
        except gzip.BadGzipFile as exc:
            if self.number == 0:
                raise CommandError(f"{self.path} is not a changedesk backup (not gzip)") from None
            raise self.damaged(str(exc)) from None
        except EOFError:
            raise self.damaged("it ends too early (an incomplete copy?)") from None
        except (zlib.error, UnicodeDecodeError, OSError) as exc:
            raise self.damaged(str(exc)) from None
        self.number += 1
        if not line:
            if end_ok:
                return None
            if self.number == 1:
                raise CommandError(f"{self.path} is empty: not a changedesk backup")
            raise self.damaged("it ends too early (an incomplete copy?)")
        try:
            return json.loads(line)
        except json.JSONDecodeError as exc:
            if self.number == 1:
                raise CommandError(f"{self.path} is not a changedesk backup") from None
            raise self.damaged(f"{exc.msg}") from None

    def damaged(self, problem: str) -> CommandError:
        return CommandError(
            f"{self.path} is damaged at line {self.number}: {problem}; nothing was restored"
        )
