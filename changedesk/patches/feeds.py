"""Vendors' RSS and Atom feeds, fetched by the worker (`jobs.poll_feeds`): each new entry is
a patch, `available` to be assessed, and the patch administrators hear of them.

A feed is fetched every `EVERY`, with a conditional GET (its ETag and Last-Modified), and
less often while it fails (`backoff`); `Source` keeps how the last fetch went, in words a
technician understands. A person gives the address, so the fetch goes only to servers on
the internet (`check_url`, on each redirect and again as it connects, so that a name
re-resolved to a private address is refused too), never beyond `MAX_BYTES` nor for long.
"""

from __future__ import annotations

import calendar
import html
import http
import http.client
import io
import ipaddress
import logging
import re
import socket
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import IO, Any, cast
from urllib.parse import urlsplit

import feedparser
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import DatabaseError, transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.html import strip_tags
from django.utils.translation import gettext

from changedesk.lib.errors import InvalidAction
from changedesk.patches import notify, services
from changedesk.patches.choices import FeedState, Severity
from changedesk.patches.models import CVE, Patch, Source, today_in

logger = logging.getLogger(__name__)

# How often a working feed is fetched; a failing one waits up to four times as long.
EVERY = timedelta(hours=6)
BACKOFF_MOST = 4
# Seconds to wait for the server (to connect, and for each read); a whole fetch gets four.
FETCH_TIMEOUT: float = 15
MAX_BYTES = 5 * 1024 * 1024
MOST_REDIRECTS = 5
# New entries made patches per fetch (the newest); the rest come on the next ones.
MOST_ENTRIES = 200
# How far before a feed was added its entries still become patches.
BACK_CATALOGUE = timedelta(days=31)
# The entries of a feed looked at (the newest).
MOST_READ = 1000
# Feeds fetched per pass of the worker (the longest due first).
MOST_PER_PASS = 5
USER_AGENT = "changedesk patch feed reader"
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.1"
)
CHUNK = 64 * 1024

KB = re.compile(r"\bKB\d{6,8}\b", re.IGNORECASE)
CVE_IN_TEXT = re.compile(rf"\b{CVE.pattern}\b", re.IGNORECASE)
# Words in an entry that say how severe it is, the most severe first.
SEVERITY_WORDS = (
    (Severity.CRITICAL, re.compile(r"\bcritical\b", re.IGNORECASE)),
    (Severity.HIGH, re.compile(r"\b(?:important|high)\b", re.IGNORECASE)),
    (Severity.MEDIUM, re.compile(r"\b(?:moderate|medium)\b", re.IGNORECASE)),
    (Severity.LOW, re.compile(r"\blow\b", re.IGNORECASE)),
)
_BREAKS = re.compile(r"<\s*(?:br|/p|/div|/li|/tr|/h[1-6])\b[^>]*>", re.IGNORECASE)
# IPv6 addresses that carry an IPv4 one (NAT64, RFC 6052).
_NAT64 = ipaddress.ip_network("64:ff9b::/96")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class FeedError(Exception):
    """Why a fetch failed, in one line for a technician."""


@dataclass
class PollResult:
    created: list[Patch] = field(default_factory=list)
    status: str = ""
    error: str = ""
    skipped: int = 0


# --- Which addresses may be fetched. ---


def _allow_private() -> bool:
    return bool(getattr(settings, "PATCH_FEEDS_ALLOW_PRIVATE", False))


def _is_public(address: IPAddress) -> bool:
    """On the internet: not loopback, private, link-local, multicast, reserved or the like
    (nor an IPv6 address carrying one of those)."""
    if isinstance(address, ipaddress.IPv6Address):
        carried = address.ipv4_mapped or address.sixtofour
        if carried is None and address.teredo:
            carried = address.teredo[1]
        if carried is None and address in _NAT64:
            carried = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if carried is not None:
            return _is_public(carried)
    return address.is_global and not address.is_multicast


def _kind(address: IPAddress) -> str:
    for kind in ("loopback", "private", "link_local", "multicast", "unspecified"):
        if getattr(address, f"is_{kind}"):
            return kind.replace("_", "-")
    return "reserved"


def _refusal(host: str, address: IPAddress) -> str:
    said = str(address) if host.strip("[]") == str(address) else f"{host} resolves to {address}"
    return (
        f"{said}, which is not an internet address ({_kind(address)}): only feeds on the "
        "internet are fetched."
    )


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None


def _resolve(host: str, port: int) -> list[IPAddress]:
    """The host's addresses, each checked; raises FeedError."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise FeedError(f"Could not find the server {host} (no such name).") from None
    literals = (_literal(str(info[4][0])) for info in found)
    addresses = list(dict.fromkeys(a for a in literals if a is not None))
    if not addresses:
        raise FeedError(f"Could not find the server {host} (no such name).")
    if not _allow_private():
        for address in addresses:
            if not _is_public(address):
                raise FeedError(_refusal(host, address))
    return addresses


def check_url(url: str, *, resolve: bool = True) -> str:
    """Why the worker may not fetch `url`, for a person; empty when it may. `resolve`: look
    the host up, and refuse it if any of its addresses is not on the internet (unless
    PATCH_FEEDS_ALLOW_PRIVATE)."""
    url = url or ""
    if not url.strip():
        return gettext("Give the feed's address (https://…).")
    if len(url) > 500:
        return gettext("An address of at most 500 characters.")
    if any(c.isspace() or ord(c) < 32 for c in url):
        return gettext("An address has no spaces in it.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return gettext("Not a web address (https://…).")
    if parts.scheme.lower() not in ("http", "https"):
        return gettext("Only http:// and https:// addresses are fetched.")
    if not parts.hostname:
        return gettext("The address has no server name (https://server/…).")
    if parts.username is not None or parts.password is not None:
        return gettext("An address with a user name or password in it is not fetched.")
    host = parts.hostname
    literal = _literal(host)
    if literal is not None and not _allow_private() and not _is_public(literal):
        return _refusal(host, literal)
    if resolve and literal is None:
        try:
            _resolve(host, port or (443 if parts.scheme.lower() == "https" else 80))
        except FeedError as error:
            return str(error)
    return ""


# --- Fetching. ---


def _connect(
    address: tuple[str, int], timeout: Any = None, source_address: Any = None, **kwargs: Any
) -> socket.socket:
    """A connection to one of the host's addresses, each checked as it is connected to (so
    that a name that resolves differently now is refused all the same)."""
    host, port = address
    last: OSError | None = None
    for ip in _resolve(host, port):
        try:
            return socket.create_connection((str(ip), port), timeout, source_address)
        except OSError as error:
            last = error
    assert last is not None
    raise last


class _Connection(http.client.HTTPConnection):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._create_connection = _connect


class _SecureConnection(http.client.HTTPSConnection):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._create_connection = _connect


@cache
def _tls() -> ssl.SSLContext:
    return ssl.create_default_context()


class _HTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_Connection, req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_SecureConnection, req, context=_tls())


class _Redirects(urllib.request.HTTPRedirectHandler):
    """Follows at most MOST_REDIRECTS redirects, each to an address `check_url` allows."""

    # Ours count first.
    max_redirections = MOST_REDIRECTS + 1
    max_repeats = MOST_REDIRECTS + 1

    def __init__(self) -> None:
        self.hops = 0

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: http.client.HTTPMessage,
        newurl: str,
    ) -> urllib.request.Request | None:
        self.hops += 1
        problem = ""
        if self.hops > MOST_REDIRECTS:
            problem = (
                f"More than {MOST_REDIRECTS} redirects: the server may be redirecting in a loop."
            )
        elif refused := check_url(newurl):
            problem = f"The server redirected to {_cut(newurl, 200)}, refused: {refused}"
        if problem:
            fp.close()
            raise FeedError(problem)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _opener() -> urllib.request.OpenerDirector:
    """http and https only, no proxy, no cookies."""
    opener = urllib.request.OpenerDirector()
    for handler in (
        urllib.request.UnknownHandler(),
        _HTTPHandler(),
        _HTTPSHandler(),
        urllib.request.HTTPDefaultErrorHandler(),
        _Redirects(),
        urllib.request.HTTPErrorProcessor(),
    ):
        opener.add_handler(handler)
    return opener


@dataclass
class Fetched:
    body: bytes | None  # None: not modified since the last fetch
    etag: str = ""
    last_modified: str = ""
    content_type: str = ""


def _too_big() -> FeedError:
    return FeedError(f"The feed is larger than {MAX_BYTES / 1024 / 1024:g} MB.")


def read_body(response: IO[bytes], deadline: float | None = None) -> bytes:
    """The body, in chunks: never more than MAX_BYTES + 1 bytes read."""
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = response.read(min(CHUNK, MAX_BYTES + 1 - size))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_BYTES:
            raise _too_big()
        if deadline is not None and time.monotonic() > deadline:
            raise FeedError(f"The feed took more than {4 * FETCH_TIMEOUT:g} seconds to download.")


def fetch(source: Source) -> Fetched:
    """The feed, or not modified; raises FeedError."""
    problem = check_url(source.location)
    if problem:
        raise FeedError(problem)
    headers = {"User-Agent": USER_AGENT, "Accept": ACCEPT}
    if source.etag:
        headers["If-None-Match"] = source.etag
    if source.last_modified:
        headers["If-Modified-Since"] = source.last_modified
    # check_url has allowed http:// and https:// only; the opener knows no other.
    request = urllib.request.Request(source.location, headers=headers)  # noqa: S310
    deadline = time.monotonic() + 4 * FETCH_TIMEOUT
    try:
        with _opener().open(request, timeout=FETCH_TIMEOUT) as response:
            length = response.headers.get("Content-Length", "")
            if length.strip().isdigit() and int(length) > MAX_BYTES:
                raise _too_big()
            body = read_body(response, deadline)
            if length.strip().isdigit() and len(body) < int(length):
                raise FeedError(_CUT_SHORT)
            return Fetched(
                body,
                etag=_cut(response.headers.get("ETag", ""), 500, end=""),
                last_modified=_cut(response.headers.get("Last-Modified", ""), 100, end=""),
                content_type=response.headers.get("Content-Type", ""),
            )
    except urllib.error.HTTPError as error:
        error.close()
        if error.code == http.HTTPStatus.NOT_MODIFIED:
            return Fetched(
                None,
                etag=_cut(error.headers.get("ETag", "") or source.etag, 500, end=""),
                last_modified=_cut(
                    error.headers.get("Last-Modified", "") or source.last_modified, 100, end=""
                ),
            )
        raise FeedError(_status(error)) from None
    except FeedError:
        raise
    except (OSError, http.client.HTTPException, ValueError) as error:
        raise FeedError(_describe(error)) from None


_CUT_SHORT = "The server closed the connection before it had sent the whole feed."


def _status(error: urllib.error.HTTPError) -> str:
    try:
        phrase = http.HTTPStatus(error.code).phrase
    except ValueError:
        phrase = ""
    answered = f"The server answered {error.code} {phrase}".rstrip() + "."
    location = error.headers.get("Location", "") if error.headers else ""
    if 300 <= error.code < 400 and urlsplit(location).scheme.lower() not in ("", "http", "https"):
        return (
            f"The server redirected to {_cut(location, 200)}, which is not an http:// or "
            "https:// address."
        )
    if error.code in (404, 410):
        return f"{answered} Check the feed's address."
    if error.code in (401, 403):
        return f"{answered} The feed is not public."
    return answered


def _describe(error: BaseException) -> str:
    """A network error in words."""
    if isinstance(error, urllib.error.URLError) and isinstance(error.reason, BaseException):
        return _describe(error.reason)
    if isinstance(error, FeedError):
        return str(error)
    if isinstance(error, TimeoutError | socket.timeout):
        return f"No answer within {FETCH_TIMEOUT:g} seconds."
    if isinstance(error, ConnectionRefusedError):
        return "Could not connect: connection refused."
    if isinstance(error, http.client.RemoteDisconnected):
        return "The server closed the connection without answering."
    if isinstance(error, ConnectionResetError | BrokenPipeError):
        return "The server closed the connection."
    if isinstance(error, ssl.SSLCertVerificationError):
        return f"The server's certificate is not valid: {error.verify_message or error}."
    if isinstance(error, ssl.SSLError):
        return f"A secure connection could not be made: {error.reason or error}."
    if isinstance(error, socket.gaierror):
        return "Could not find the server (no such name)."
    if isinstance(error, http.client.IncompleteRead):
        return _CUT_SHORT
    if isinstance(error, http.client.HTTPException):
        return f"The server's answer is not valid HTTP ({type(error).__name__})."
    if isinstance(error, OSError) and error.strerror:
        return f"Could not connect: {error.strerror.lower()}."
    if isinstance(error, urllib.error.URLError):
        return f"Could not fetch it: {error.reason}."
    return f"Could not fetch it: {error}."


# --- Reading the feed. ---


def parse(fetched: Fetched) -> list[Mapping[str, Any]]:
    """The feed's entries; raises FeedError when it is not a feed."""
    body = fetched.body or b""
    headers = {"content-type": fetched.content_type} if fetched.content_type else {}
    # A stream, not bytes: feedparser opens bytes that name a local file.
    try:
        parsed = cast(
            "Mapping[str, Any]", feedparser.parse(io.BytesIO(body), response_headers=headers)
        )
    except Exception as error:  # feedparser's own bugs, on odd input
        logger.warning("feedparser failed", exc_info=True)
        raise FeedError(
            f"Not an RSS or Atom feed: it could not be read ({type(error).__name__})."
        ) from None
    entries = cast("list[Mapping[str, Any]]", parsed.get("entries") or [])
    if entries or (parsed.get("version") and not parsed.get("bozo")):
        return entries
    if not body.strip():
        why = "the answer was empty"
    elif "html" in fetched.content_type.lower() or re.match(
        rb"\s*(?:<!doctype html|<html)", body[:1000], re.IGNORECASE
    ):
        why = "the server sent a web page"
    elif parsed.get("bozo"):
        # (Its line numbers count a declaration feedparser may add: left out.)
        problem = parsed.get("bozo_exception")
        why = str(getattr(problem, "getMessage", lambda: str(problem))())
    else:
        why = "no RSS or Atom elements in it"
    raise FeedError(_line(f"Not an RSS or Atom feed: {why}."))


# Control characters (NUL above all: PostgreSQL keeps no text with one) are dropped from
# whatever an entry says; tabs and line ends are kept.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _text(value: Any) -> str:
    """Plain text of an entry's HTML, its paragraphs kept."""
    if not isinstance(value, str):
        return ""
    value = _CONTROL.sub("", html.unescape(strip_tags(_BREAKS.sub("\n", value))))
    lines = [" ".join(line.split()) for line in value.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _cut(text: str, most: int, end: str = "…") -> str:
    return text if len(text) <= most else text[: most - len(end)].rstrip() + end


def _line(text: str, most: int = 1000) -> str:
    return _cut(" ".join(text.split()), most)


def entry_id(entry: Mapping[str, Any]) -> str:
    for name in ("id", "link", "title"):
        value = entry.get(name)
        if isinstance(value, str) and _CONTROL.sub("", value).strip():
            return _CONTROL.sub("", value).strip()[:500]
    return ""


def published(entry: Mapping[str, Any]) -> datetime | None:
    """When the entry was published (else updated), in UTC."""
    for name in ("published_parsed", "updated_parsed"):
        value = entry.get(name)
        if value:
            try:
                return datetime.fromtimestamp(calendar.timegm(value), UTC)
            except (TypeError, ValueError, OverflowError, OSError):
                continue
    return None


def guess_severity(text: str) -> str:
    for severity, words in SEVERITY_WORDS:
        if words.search(text):
            return severity.value
    return Severity.MEDIUM.value


def _link(value: Any) -> str:
    if not isinstance(value, str) or len(value.strip()) > 1000:
        return ""
    link = value.strip()
    try:
        URLValidator(schemes=["http", "https"])(link)
    except ValidationError:
        return ""
    return link


def _cves(text: str) -> str:
    found = list(dict.fromkeys(m.upper() for m in CVE_IN_TEXT.findall(text)))
    kept = ""
    for cve in found:
        joined = f"{kept}, {cve}" if kept else cve
        if len(joined) > 1000:
            break
        kept = joined
    return kept


def patch_data(source: Source, entry: Mapping[str, Any], today: date) -> dict[str, Any]:
    """What `services.create_patch` is given for an entry."""
    summary = entry.get("summary")
    if not summary and entry.get("content"):
        summary = entry["content"][0].get("value")
    description = _text(summary)
    title = " ".join(_text(entry.get("title")).split())
    text = f"{title}\n{description}"
    reference = KB.search(text)
    when = published(entry)
    released = when.astimezone(source.school.zone).date() if when else today
    if not today - services.OLDEST_RELEASE <= released <= today + services.NEWEST_RELEASE:
        released = today
    return {
        "vendor": source.vendor,
        "product": source.product,
        "title": _cut(title, 300) or f"An update from {source.vendor.name}",
        "link": _link(entry.get("link")),
        "description": _cut(description, 5000),
        "reference": reference.group(0).upper() if reference else "",
        "cves": _cves(text),
        "release_date": released,
        "severity": guess_severity(text),
    }


def _newest_first(entries: Iterable[Mapping[str, Any]], now: datetime) -> list[Mapping[str, Any]]:
    """Newest first; an undated entry is taken as new (feeds list their newest first)."""
    return sorted(entries, key=lambda e: published(e) or now, reverse=True)


def _create(source: Source, entries: list[Mapping[str, Any]], now: datetime) -> PollResult:
    """Patches for the entries not seen before."""
    by_id: dict[str, Mapping[str, Any]] = {}
    for entry in _newest_first(entries, now)[:MOST_READ]:
        key = entry_id(entry)
        if key and key not in by_id:
            by_id[key] = entry
    seen = set(
        Patch.objects.filter(source=source, entry_id__in=list(by_id)).values_list(
            "entry_id", flat=True
        )
    )
    # A feed's back catalogue is history, not work: only what was released in the month
    # before the feed was added (or since) becomes a patch to assess.
    since = source.created_at - BACK_CATALOGUE
    new = [
        (key, entry)
        for key, entry in by_id.items()
        if key not in seen and (published(entry) or now) >= since
    ][:MOST_ENTRIES]
    today = today_in(source.school, now)
    result = PollResult()
    known = _known_references(source, [patch_data(source, e, today) for _, e in new])
    for key, entry in reversed(new):  # the oldest first
        data = patch_data(source, entry, today)
        reference = str(data.get("reference") or "").casefold()
        if reference and reference in known:
            # The vendor's patch is here already (from another of its feeds, or by hand).
            result.skipped += 1
            continue
        try:
            with transaction.atomic():
                patch = services.create_patch(
                    source.school, None, data, source=source, entry_id=key
                )
        except (InvalidAction, DatabaseError) as error:
            result.skipped += 1
            logger.warning("Feed %s: entry %r skipped: %s", source.pk, key, error)
            continue
        if reference:
            known.add(reference)
        result.created.insert(0, patch)
    return result


def _known_references(source: Source, data: list[dict[str, Any]]) -> set[str]:
    """The references among `data` that the vendor's patches at the school have already."""
    wanted = {str(d.get("reference") or "") for d in data} - {""}
    if not wanted:
        return set()
    found = Patch.objects.filter(
        school_id=source.school_id, vendor_id=source.vendor_id, reference__in=wanted
    ).values_list("reference", flat=True)
    return {r.casefold() for r in found}


# --- A fetch, start to end. ---


# What a fetch writes on its source (a success, these and more).
FAILURE_FIELDS = ["state", "error", "failures", "failing_since", "checked_at", "next_check_at"]


def backoff(failures: int) -> timedelta:
    """How long a feed that failed `failures` times in a row waits: 6h, 12h, 24h."""
    return EVERY * min(1 << max(0, min(failures, 8) - 1), BACKOFF_MOST)


def _still_same(source: Source) -> bool:
    """Lock the source; False when it was deleted or given another address meanwhile."""
    rows = Source.objects.select_for_update().filter(pk=source.pk).values("location", "kind")
    row = rows.first()
    return row is not None and (row["location"], row["kind"]) == (source.location, source.kind)


def _failed(source: Source, now: datetime, message: str) -> PollResult:
    message = _line(message)
    with transaction.atomic():
        if not _still_same(source):
            return PollResult(status="Changed while it was fetched.", error=message)
        source.state = FeedState.FAILING
        source.error = message
        source.failures += 1
        source.failing_since = source.failing_since or now
        source.checked_at = now
        source.next_check_at = now + backoff(source.failures)
        source.save(update_fields=FAILURE_FIELDS)
    logger.warning("Feed %s (%s) failed: %s", source.pk, source.location, message)
    return PollResult(status=f"Failing: {message}", error=message)


def poll(source: Source, now: datetime | None = None) -> PollResult:
    """Fetch a feed, make its new entries patches and tell the patch administrators; record
    how it went on the source. A network or feed problem is recorded, never raised."""
    now = now or timezone.now()
    try:
        fetched = fetch(source)
        entries = None if fetched.body is None else parse(fetched)
    except FeedError as error:
        return _failed(source, now, str(error))
    with transaction.atomic():
        if not _still_same(source):
            return PollResult(status="Changed while it was fetched.")
        result = PollResult() if entries is None else _create(source, entries, now)
        source.state = FeedState.OK
        source.error = ""
        source.failures = 0
        source.failing_since = None
        source.checked_at = source.succeeded_at = now
        source.etag, source.last_modified = fetched.etag, fetched.last_modified
        source.entries_found += len(result.created)
        source.next_check_at = now + EVERY
        source.save(
            update_fields=[
                *FAILURE_FIELDS,
                "succeeded_at",
                "etag",
                "last_modified",
                "entries_found",
            ]
        )
        if result.created:
            notify.tell_new(source, result.created)
    count = len(result.created)
    if entries is None:
        result.status = "Not changed since the last check."
    elif count:
        result.status = f"{count} new patch{'es' if count != 1 else ''}."
        logger.info("Feed %s brought %s new patches", source.pk, count)
    else:
        result.status = "Nothing new."
    return result


def poll_due(now: datetime) -> int:
    """Fetch the feeds that are due (at most MOST_PER_PASS); returns how many were. A bug
    with one does not stop the others: it is logged and the feed tried again later."""
    due = (
        Source.objects.due(now)
        .select_related("school", "vendor")
        .order_by("next_check_at", "id")[:MOST_PER_PASS]
    )
    polled = 0
    for source in list(due):
        polled += 1
        try:
            poll(source, now)
        except Exception:
            logger.exception("Feed %s could not be fetched", source.pk)
            _crashed(source, now)
    return polled


def _crashed(source: Source, now: datetime) -> None:
    try:
        Source.objects.filter(pk=source.pk).update(
            state=FeedState.FAILING,
            error="An error in changedesk stopped the fetch (the server's log has it).",
            failures=F("failures") + 1,
            failing_since=Coalesce("failing_since", Value(now)),
            checked_at=now,
            next_check_at=now + EVERY,
        )
    except Exception:
        logger.exception("Feed %s: its failure could not be recorded", source.pk)
