"""Vendors' feeds fetched by the worker: RSS and Atom entries become available patches (once),
the conditional GET, every way a fetch fails (down, an error, not a feed, too big, too slow)
and the backoff, the refusal of addresses that are not on the internet (redirects too), the
mail to the patch administrator and the worker's pass over the due feeds.

The feeds are served by a local server in a thread (`server`), never the internet; so that
127.0.0.1 may be fetched, PATCH_FEEDS_ALLOW_PRIVATE is on unless a test turns it off.
"""

from __future__ import annotations

import contextlib
import io
import socket
import threading
import time
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import time_machine
from django.utils import timezone

from changedesk.lib.errors import InvalidAction
from changedesk.notifications.models import OutboxMessage
from changedesk.patches import feeds, services
from changedesk.patches.models import Patch, PatchEvent, Source

pytestmark = pytest.mark.django_db

# A Thursday in July 2026 (BST), when the tests run.
T0 = datetime(2026, 7, 2, 9, 0, tzinfo=UTC)
TODAY = date(2026, 7, 2)

RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0">
<channel>
  <title>Security updates</title>
  <link>https://msrc.example/</link>
  <description>The vendor's security updates</description>
  <item>
    <title>KB5031234: Cumulative update for Windows 11 (Critical)</title>
    <link>https://msrc.example/kb5031234</link>
    <guid isPermaLink="false">msrc-2026-0328</guid>
    <pubDate>Sat, 28 Mar 2026 23:30:00 GMT</pubDate>
    <description>&lt;p&gt;Fixes cve-2026-21001 and &lt;b&gt;CVE-2026-21002&lt;/b&gt;.&lt;/p&gt;
      &lt;p&gt;See CVE-2026-21001 again.&lt;/p&gt;</description>
  </item>
  <item>
    <title>Security update for Office</title>
    <link>https://msrc.example/office</link>
    <guid isPermaLink="false">msrc-2026-0630</guid>
    <pubDate>Tue, 30 Jun 2026 23:30:00 GMT</pubDate>
    <description>Max severity: Important. KB5040001 fixes CVE-2026-30001.</description>
  </item>
</channel>
</rss>
"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Product security bulletins</title>
  <id>urn:example:bulletins</id>
  <updated>2026-06-30T23:30:00Z</updated>
  <entry>
    <id>urn:example:apsb26-01</id>
    <title type="html">&lt;b&gt;APSB26-01&lt;/b&gt;: Security update for Reader</title>
    <link href="https://helpx.example/apsb26-01.html"/>
    <published>2026-06-30T23:30:00Z</published>
    <updated>2026-06-30T23:30:00Z</updated>
    <summary type="html">&lt;p&gt;Priority: moderate. Fixes CVE-2026-40001.&lt;/p&gt;</summary>
  </entry>
  <entry>
    <id>urn:example:apsb26-02</id>
    <title>Reader maintenance release</title>
    <link href="javascript:alert(1)"/>
    <updated>2019-01-01T12:00:00Z</updated>
    <summary>Severity: low.</summary>
  </entry>
  <entry>
    <id>urn:example:apsb26-03</id>
    <title>Reader preview</title>
    <updated>2026-09-01T12:00:00Z</updated>
    <summary>Fixes a few things.</summary>
  </entry>
</feed>
"""


def rss(*items: tuple[str, str, str]) -> bytes:
    """An RSS feed of (guid, title, pubDate) items."""
    body = "".join(
        f"<item><guid>{guid}</guid><title>{title}</title><pubDate>{when}</pubDate></item>"
        for guid, title, when in items
    )
    return f'<rss version="2.0"><channel><title>t</title>{body}</channel></rss>'.encode()


# --- The local feed server. ---


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        feeds_server = self.server.feeds  # type: ignore[attr-defined]
        feeds_server.requests.append((self.path, dict(self.headers)))
        route = feeds_server.routes.get(self.path)
        if route is None:
            self.send_error(404)
            return
        with contextlib.suppress(OSError):  # the client went away
            route(self)

    def log_message(self, format, *args) -> None:
        pass


class FeedServer:
    def __init__(self) -> None:
        self.routes: dict = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.sent = 0
        self.done = threading.Event()
        self.stop = threading.Event()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.feeds = self  # type: ignore[attr-defined]

    def url(self, path: str = "/feed.xml") -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def paths(self) -> list[str]:
        return [path for path, _ in self.requests]


@pytest.fixture
def server():
    feed_server = FeedServer()
    thread = threading.Thread(
        target=feed_server.httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
    )
    thread.start()
    yield feed_server
    feed_server.stop.set()
    feed_server.httpd.shutdown()
    feed_server.httpd.server_close()
    thread.join(5)


def answer(body: bytes, *, status=200, content_type="application/rss+xml", headers=None):
    """A route: `body`, or a 304 when the request's If-None-Match is the ETag given."""
    headers = headers or {}

    def respond(handler: BaseHTTPRequestHandler) -> None:
        etag = headers.get("ETag")
        if etag and handler.headers.get("If-None-Match") == etag:
            handler.send_response(304)
            handler.send_header("ETag", etag)
            handler.end_headers()
            return
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(body)

    return respond


def redirect(to: str, status=302):
    def respond(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        handler.send_header("Location", to)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    return respond


@pytest.fixture(autouse=True)
def _at_t0():
    with time_machine.travel(T0):
        yield


@pytest.fixture(autouse=True)
def _local_feeds(settings):
    settings.PATCH_FEEDS_ALLOW_PRIVATE = True


# The test feeds' entries are from 2026: their feed was added at the start of that year,
# so none of them is the back catalogue a new feed leaves out (see the test of that).
ADDED = datetime(2026, 1, 1, tzinfo=UTC)


def add_feed(school, pam, vendor, location, *, added=ADDED, **data) -> Source:
    values = {"vendor": vendor, "kind": "feed", "location": location, "product": "Windows 11"}
    source = services.save_source(school, pam, {**values, **data})
    if added is not None:
        Source.objects.filter(pk=source.pk).update(created_at=added)
        source.refresh_from_db()
    return source


@pytest.fixture
def source(school, pam, vendor, server) -> Source:
    server.routes["/feed.xml"] = answer(RSS)
    return add_feed(school, pam, vendor, server.url())


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def mails():
    return OutboxMessage.objects.filter(template="patches_new")


# --- Feeds bring patches. ---


def test_rss_feed_brings_available_patches(source, server, school, vendor):
    now = timezone.now()
    result = feeds.poll(source, now)

    assert result.error == ""
    assert result.status == "2 new patches."
    assert [p.entry_id for p in result.created] == ["msrc-2026-0630", "msrc-2026-0328"]
    windows = Patch.objects.get(entry_id="msrc-2026-0328")
    assert windows.title == "KB5031234: Cumulative update for Windows 11 (Critical)"
    assert windows.link == "https://msrc.example/kb5031234"
    assert windows.reference == "KB5031234"
    assert windows.cves == "CVE-2026-21001, CVE-2026-21002"
    assert windows.description == (
        "Fixes cve-2026-21001 and CVE-2026-21002.\n\nSee CVE-2026-21001 again."
    )
    assert windows.severity == "critical" and not windows.severity_confirmed
    # 23:30 GMT on 28 March: still the 28th in London (BST starts the next morning).
    assert windows.release_date == date(2026, 3, 28)
    assert (windows.state, windows.school, windows.vendor) == ("available", school, vendor)
    assert (windows.source, windows.product, windows.created_by) == (source, "Windows 11", None)
    assert windows.due_on == date(2026, 4, 11)
    office = Patch.objects.get(entry_id="msrc-2026-0630")
    # 23:30 UTC on 30 June is 00:30 BST on 1 July.
    assert office.release_date == date(2026, 7, 1)
    assert (office.severity, office.reference, office.cves) == (
        "high",
        "KB5040001",
        "CVE-2026-30001",
    )
    event = PatchEvent.objects.get(patch=office)
    assert (event.kind, event.actor, event.data) == ("create", None, {"source": source.pk})

    source.refresh_from_db()
    assert (source.state, source.error, source.failures, source.entries_found) == ("ok", "", 0, 2)
    assert source.checked_at == source.succeeded_at == now
    assert source.next_check_at == now + timedelta(hours=6)
    _, headers = server.requests[0]
    assert headers["User-Agent"] == "changedesk patch feed reader"
    assert "If-None-Match" not in headers and "If-Modified-Since" not in headers


def test_atom_feed_brings_available_patches(school, pam, vendor, server):
    server.routes["/atom.xml"] = answer(ATOM, content_type="application/atom+xml")
    source = add_feed(school, pam, vendor, server.url("/atom.xml"), product="Reader")

    result = feeds.poll(source)

    # The 2019 entry is from before the feed was added: the back catalogue, left out.
    assert len(result.created) == 2
    assert not Patch.objects.filter(entry_id="urn:example:apsb26-02").exists()
    reader = Patch.objects.get(entry_id="urn:example:apsb26-01")
    assert reader.title == "APSB26-01: Security update for Reader"
    assert reader.link == "https://helpx.example/apsb26-01.html"
    assert (reader.severity, reader.cves, reader.reference) == ("medium", "CVE-2026-40001", "")
    assert reader.description == "Priority: moderate. Fixes CVE-2026-40001."
    assert reader.release_date == date(2026, 7, 1)
    assert reader.product == "Reader"
    ahead = Patch.objects.get(entry_id="urn:example:apsb26-03")
    assert (ahead.severity, ahead.release_date) == ("medium", TODAY)


def test_polling_again_brings_nothing_new(source, server):
    feeds.poll(source)

    result = feeds.poll(source)

    assert (result.created, result.status, result.error) == ([], "Nothing new.", "")
    assert Patch.objects.filter(source=source).count() == 2
    source.refresh_from_db()
    assert (source.state, source.entries_found) == ("ok", 2)
    assert len(server.requests) == 2


def test_new_entries_arrive_newest_first_at_most_per_poll(school, pam, vendor, server, monkeypatch):
    monkeypatch.setattr(feeds, "MOST_ENTRIES", 2)
    server.routes["/feed.xml"] = answer(
        rss(
            ("a", "Update A", "Mon, 01 Jun 2026 10:00:00 GMT"),
            ("c", "Update C", "Wed, 01 Jul 2026 10:00:00 GMT"),
            ("b", "Update B", "Mon, 15 Jun 2026 10:00:00 GMT"),
            ("c", "Update C again", "Wed, 01 Jul 2026 10:00:00 GMT"),
        )
    )
    source = add_feed(school, pam, vendor, server.url())

    assert [p.entry_id for p in feeds.poll(source).created] == ["c", "b"]
    assert [p.entry_id for p in feeds.poll(source).created] == ["a"]
    assert feeds.poll(source).created == []


def test_conditional_get(school, pam, vendor, server):
    server.routes["/feed.xml"] = answer(
        RSS, headers={"ETag": '"v1"', "Last-Modified": "Wed, 01 Jul 2026 08:00:00 GMT"}
    )
    source = add_feed(school, pam, vendor, server.url())
    feeds.poll(source)
    source.refresh_from_db()
    assert (source.etag, source.last_modified) == ('"v1"', "Wed, 01 Jul 2026 08:00:00 GMT")

    later = timezone.now() + timedelta(hours=6)
    result = feeds.poll(source, later)

    _, headers = server.requests[-1]
    assert headers["If-None-Match"] == '"v1"'
    assert headers["If-Modified-Since"] == "Wed, 01 Jul 2026 08:00:00 GMT"
    assert (result.created, result.error) == ([], "")
    assert result.status == "Not changed since the last check."
    source.refresh_from_db()
    assert (source.state, source.etag, source.entries_found) == ("ok", '"v1"', 2)
    assert source.checked_at == source.succeeded_at == later
    assert source.next_check_at == later + timedelta(hours=6)


# --- Failures. ---


def test_a_feed_that_is_down_fails_with_backoff(school, pam, vendor):
    source = add_feed(school, pam, vendor, f"http://127.0.0.1:{unused_port()}/feed.xml")
    first = timezone.now()

    result = feeds.poll(source, first)

    assert result.created == []
    assert result.error == "Could not connect: connection refused."
    source.refresh_from_db()
    assert (source.state, source.error, source.failures) == (
        "failing",
        "Could not connect: connection refused.",
        1,
    )
    assert source.failing_since == source.checked_at == first
    assert source.succeeded_at is None
    assert source.next_check_at == first + timedelta(hours=6)
    waits = []
    for hours in (6, 18, 42):
        when = first + timedelta(hours=hours)
        feeds.poll(source, when)
        source.refresh_from_db()
        waits.append(source.next_check_at - when)
    assert waits == [timedelta(hours=12), timedelta(hours=24), timedelta(hours=24)]
    assert (source.failures, source.failing_since) == (4, first)


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (500, "The server answered 500 Internal Server Error."),
        (503, "The server answered 503 Service Unavailable."),
        (404, "The server answered 404 Not Found. Check the feed's address."),
    ],
)
def test_an_http_error_fails(source, server, status, error):
    server.routes["/feed.xml"] = answer(b"Oops", status=status, content_type="text/plain")

    result = feeds.poll(source)

    assert (result.created, result.error) == ([], error)
    source.refresh_from_db()
    assert (source.state, source.error, source.failures) == ("failing", error, 1)


@pytest.mark.parametrize(
    ("body", "content_type", "error"),
    [
        (
            b"<!DOCTYPE html><html><head><title>Updates</title></head><body>Hi</body></html>",
            "text/html; charset=utf-8",
            "Not an RSS or Atom feed: the server sent a web page.",
        ),
        (
            b"\x00\x01\x02garbage\xff\xfe",
            "application/octet-stream",
            "Not an RSS or Atom feed: not well-formed (invalid token).",
        ),
        (b"", "application/rss+xml", "Not an RSS or Atom feed: the answer was empty."),
    ],
    ids=["html", "garbage", "empty"],
)
def test_what_is_not_a_feed_fails(source, server, body, content_type, error):
    server.routes["/feed.xml"] = answer(body, content_type=content_type)

    result = feeds.poll(source)

    assert (result.created, result.error) == ([], error)
    source.refresh_from_db()
    assert (source.state, source.error) == ("failing", error)


@pytest.mark.parametrize("chunked", [True, False], ids=["chunked", "content-length"])
def test_a_feed_cut_short_fails(source, server, chunked):
    def short(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        if chunked:
            handler.send_header("Transfer-Encoding", "chunked")
            handler.end_headers()
            handler.wfile.write(f"{len(RSS):x}\r\n".encode() + RSS[:100])
        else:
            handler.send_header("Content-Length", str(len(RSS)))
            handler.end_headers()
            handler.wfile.write(RSS[:100])

    server.routes["/feed.xml"] = short

    result = feeds.poll(source)

    assert result.error == "The server closed the connection before it had sent the whole feed."


def test_a_body_naming_a_local_file_is_not_read(source, server, tmp_path):
    """feedparser opens bytes that name a file: the body is given to it as a stream."""
    local = tmp_path / "local.xml"
    local.write_bytes(RSS)
    server.routes["/feed.xml"] = answer(str(local).encode(), content_type="text/plain")

    result = feeds.poll(source)

    assert result.created == []
    assert result.error.startswith("Not an RSS or Atom feed")


def huge(*, chunked: bool, size: int = 40 * 1024 * 1024):
    """A route serving `size` bytes of feed in 64 KiB pieces, counting what it sent."""
    piece = b"<!-- " + b"x" * (64 * 1024 - 9) + b" -->"

    def respond(handler: BaseHTTPRequestHandler) -> None:
        feeds_server = handler.server.feeds  # type: ignore[attr-defined]
        handler.send_response(200)
        handler.send_header("Content-Type", "application/rss+xml")
        if chunked:
            handler.send_header("Transfer-Encoding", "chunked")
        else:
            handler.send_header("Content-Length", str(size))
        handler.end_headers()
        try:
            while feeds_server.sent < size:
                data = f"{len(piece):x}\r\n".encode() + piece + b"\r\n" if chunked else piece
                handler.wfile.write(data)
                feeds_server.sent += len(piece)
        finally:
            feeds_server.done.set()

    return respond


@pytest.mark.parametrize("chunked", [True, False], ids=["chunked", "content-length"])
def test_a_feed_larger_than_5_mb_fails_unread(source, server, chunked):
    server.routes["/feed.xml"] = huge(chunked=chunked)

    result = feeds.poll(source)

    assert result.error == "The feed is larger than 5 MB."
    source.refresh_from_db()
    assert (source.state, source.error) == ("failing", "The feed is larger than 5 MB.")
    assert server.done.wait(5)
    assert server.sent < 20 * 1024 * 1024  # it stopped when the reader hung up


def test_reading_stops_one_byte_past_the_limit(monkeypatch):
    monkeypatch.setattr(feeds, "MAX_BYTES", 1000)
    monkeypatch.setattr(feeds, "CHUNK", 300)

    class Counted(io.BytesIO):
        asked = 0

        def read(self, size=-1):
            assert size is not None and 0 < size <= 300
            data = super().read(size)
            Counted.asked += len(data)
            return data

    assert feeds.read_body(Counted(b"x" * 1000)) == b"x" * 1000
    Counted.asked = 0
    with pytest.raises(feeds.FeedError, match="larger than"):
        feeds.read_body(Counted(b"x" * 5000))
    assert Counted.asked == 1001


def test_a_slow_server_times_out(source, server, monkeypatch):
    monkeypatch.setattr(feeds, "FETCH_TIMEOUT", 0.5)

    def slow(handler: BaseHTTPRequestHandler) -> None:
        handler.server.feeds.stop.wait(5)  # type: ignore[attr-defined]
        answer(RSS)(handler)

    server.routes["/feed.xml"] = slow
    started = time.monotonic()

    result = feeds.poll(source)

    assert time.monotonic() - started < 3
    assert result.error == "No answer within 0.5 seconds."
    source.refresh_from_db()
    assert (source.state, source.failures) == ("failing", 1)


def test_a_feed_recovers(source, server):
    server.routes["/feed.xml"] = answer(b"", status=503)
    first = timezone.now()
    feeds.poll(source, first)
    feeds.poll(source, first + timedelta(hours=6))
    server.routes["/feed.xml"] = answer(RSS)
    later = first + timedelta(hours=18)

    result = feeds.poll(source, later)

    assert len(result.created) == 2
    source.refresh_from_db()
    assert (source.state, source.error, source.failures, source.failing_since) == (
        "ok",
        "",
        0,
        None,
    )
    assert source.succeeded_at == source.checked_at == later
    assert source.next_check_at == later + timedelta(hours=6)


# --- Only the internet is fetched. ---


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("", "Give the feed's address"),
        ("ftp://ftp.example.com/feed.xml", "Only http:// and https://"),
        ("file:///etc/passwd", "Only http:// and https://"),
        ("javascript:alert(1)", "Only http:// and https://"),
        ("https:///feed.xml", "no server name"),
        ("http://", "no server name"),
        ("https://user:secret@vendor.example/feed.xml", "user name or password"),
        ("https://vendor.example/a feed.xml", "no spaces"),
        ("https://vendor.example:99999/feed.xml", "Not a web address"),
        ("https://vendor.example/" + "a" * 480, "at most 500 characters"),
    ],
)
def test_check_url_refuses(url, error):
    assert error in feeds.check_url(url, resolve=False)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/feed.xml",
        "http://10.0.0.1/feed.xml",
        "http://169.254.169.254/latest/meta-data/",
        "http://192.168.1.10/feed.xml",
        "http://[::1]/feed.xml",
        "http://[::ffff:10.0.0.1]/feed.xml",
        "http://0.0.0.0/feed.xml",
        "http://224.0.0.1/feed.xml",
    ],
)
def test_check_url_refuses_addresses_off_the_internet(settings, url):
    settings.PATCH_FEEDS_ALLOW_PRIVATE = False

    assert "not an internet address" in feeds.check_url(url)
    assert "not an internet address" in feeds.check_url(url, resolve=False)


def fake_dns(monkeypatch, names):
    """Resolve `names` (name: an address, or a list of them, one per lookup; None: no such
    name); the rest as before."""
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host not in names:
            return real(host, port, *args, **kwargs)
        found = names[host]
        if isinstance(found, list):
            found = found.pop(0) if len(found) > 1 else found[0]
        if found is None:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (found, port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def test_check_url_resolves_the_name(settings, monkeypatch):
    settings.PATCH_FEEDS_ALLOW_PRIVATE = False
    fake_dns(
        monkeypatch,
        {"intranet.example": "10.1.2.3", "vendor.example": "93.184.215.14", "gone.example": None},
    )

    assert feeds.check_url("https://intranet.example/feed.xml") == (
        "intranet.example resolves to 10.1.2.3, which is not an internet address (private): "
        "only feeds on the internet are fetched."
    )
    assert feeds.check_url("https://intranet.example/feed.xml", resolve=False) == ""
    assert feeds.check_url("https://vendor.example/feed.xml") == ""
    assert feeds.check_url("https://gone.example/feed.xml") == (
        "Could not find the server gone.example (no such name)."
    )
    settings.PATCH_FEEDS_ALLOW_PRIVATE = True
    assert feeds.check_url("https://intranet.example/feed.xml") == ""
    assert feeds.check_url("http://127.0.0.1:8000/feed.xml") == ""


def test_a_private_feed_is_not_fetched(source, server, settings):
    settings.PATCH_FEEDS_ALLOW_PRIVATE = False

    result = feeds.poll(source)

    assert "127.0.0.1, which is not an internet address (loopback)" in result.error
    assert server.requests == []
    source.refresh_from_db()
    assert source.state == "failing"


def test_a_name_resolved_again_to_a_private_address_is_refused(
    school, pam, vendor, server, settings, monkeypatch
):
    """The address is checked again as it is connected to (DNS rebinding)."""
    port = server.httpd.server_address[1]
    source = add_feed(school, pam, vendor, f"http://vendor.example:{port}/feed.xml")
    settings.PATCH_FEEDS_ALLOW_PRIVATE = False
    fake_dns(monkeypatch, {"vendor.example": ["93.184.215.14", "127.0.0.1"]})

    result = feeds.poll(source)

    assert result.error == (
        "vendor.example resolves to 127.0.0.1, which is not an internet address (loopback): "
        "only feeds on the internet are fetched."
    )
    assert server.requests == []


def test_an_unknown_name_fails(school, pam, vendor, monkeypatch):
    fake_dns(monkeypatch, {"gone.example": None})
    source = add_feed(school, pam, vendor, "https://gone.example/feed.xml")

    result = feeds.poll(source)

    assert result.error == "Could not find the server gone.example (no such name)."


def test_redirects_are_followed(source, server):
    server.routes["/old.xml"] = redirect(server.url("/older.xml"), 301)
    server.routes["/older.xml"] = redirect("/feed.xml", 307)
    source.location = server.url("/old.xml")
    source.save()

    result = feeds.poll(source)

    assert len(result.created) == 2
    assert server.paths() == ["/old.xml", "/older.xml", "/feed.xml"]


def test_at_most_5_redirects(source, server):
    server.routes["/loop.xml"] = redirect("/loop.xml")
    source.location = server.url("/loop.xml")
    source.save()

    result = feeds.poll(source)

    assert result.error == "More than 5 redirects: the server may be redirecting in a loop."
    assert len(server.requests) == 6


@pytest.mark.parametrize(
    "to",
    ["http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/feed.xml", "http://[::1]/"],
)
def test_a_redirect_off_the_internet_is_refused(source, server, settings, monkeypatch, to):
    """The test server stands in for a vendor's on the internet."""
    settings.PATCH_FEEDS_ALLOW_PRIVATE = False
    real = feeds._is_public
    monkeypatch.setattr(feeds, "_is_public", lambda a: str(a) == "127.0.0.1" or real(a))
    server.routes["/feed.xml"] = redirect(to)

    result = feeds.poll(source)

    assert result.error.startswith(f"The server redirected to {to}, refused: ")
    assert "not an internet address" in result.error
    assert server.paths() == ["/feed.xml"]
    source.refresh_from_db()
    assert source.state == "failing"


def test_a_redirect_to_a_file_is_refused(source, server):
    server.routes["/feed.xml"] = redirect("file:///etc/passwd")

    result = feeds.poll(source)

    assert result.error == (
        "The server redirected to file:///etc/passwd, which is not an http:// or https:// address."
    )


# --- Who hears of it, and the worker's pass. ---


def test_the_patch_administrator_hears_of_new_patches(source, server, pam):
    feeds.poll(source)

    message = mails().get()
    assert (message.recipient, message.template) == (pam, "patches_new")
    assert message.context["count"] == 2
    assert [p["title"] for p in message.context["patches"]] == [
        "Security update for Office",
        "KB5031234: Cumulative update for Windows 11 (Critical)",
    ]
    assert [p["reference"] for p in message.context["patches"]] == ["KB5040001", "KB5031234"]

    feeds.poll(source)
    assert mails().count() == 1

    server.routes["/feed.xml"] = answer(
        RSS.replace(
            b"<item>", b"<item><title>Edge update</title><guid>edge-1</guid></item><item>", 1
        )
    )
    result = feeds.poll(source)
    assert [p.entry_id for p in result.created] == ["edge-1"]
    assert mails().count() == 2


def test_a_failing_feed_tells_no_one(source, server, pam):
    server.routes["/feed.xml"] = answer(b"", status=500)

    feeds.poll(source)

    assert not mails().exists()


def test_an_entry_refused_is_skipped(source, server, monkeypatch):
    real = services.create_patch

    def create_patch(school, actor, data, **kwargs):
        if "Office" in data["title"]:
            raise InvalidAction("Some fields need correcting.", {"title": "Not this one."})
        return real(school, actor, data, **kwargs)

    monkeypatch.setattr(services, "create_patch", create_patch)

    result = feeds.poll(source)

    assert [p.entry_id for p in result.created] == ["msrc-2026-0328"]
    assert result.skipped == 1
    source.refresh_from_db()
    assert (source.state, source.entries_found) == ("ok", 1)


def test_poll_due_fetches_only_the_due_feeds(school, pam, vendor, server, monkeypatch):
    server.routes["/feed.xml"] = answer(RSS)
    server.routes["/other.xml"] = answer(ATOM, content_type="application/atom+xml")
    now = timezone.now()
    first = add_feed(school, pam, vendor, server.url())
    broken = add_feed(school, pam, vendor, server.url("/broken.xml"))
    last = add_feed(school, pam, vendor, server.url("/other.xml"))
    later = add_feed(school, pam, vendor, server.url("/later.xml"))
    off = add_feed(school, pam, vendor, server.url("/off.xml"), is_active=False)
    page = add_feed(school, pam, vendor, "https://msrc.example/updates", kind="web")
    mailing = add_feed(school, pam, vendor, "patches@vendor.example", kind="mailing_list")
    for minutes, feed in enumerate([first, broken, last, page, mailing, off]):
        Source.objects.filter(pk=feed.pk).update(next_check_at=now - timedelta(minutes=9 - minutes))
    Source.objects.filter(pk=later.pk).update(next_check_at=now + timedelta(minutes=1))
    real = feeds.poll
    polled = []

    def poll(source, now=None):
        polled.append(source.pk)
        if source.pk == broken.pk:
            raise RuntimeError("a bug")
        return real(source, now)

    monkeypatch.setattr(feeds, "poll", poll)

    assert feeds.poll_due(now) == 3

    assert polled == [first.pk, broken.pk, last.pk]
    assert sorted(server.paths()) == ["/feed.xml", "/other.xml"]
    states = dict(Source.objects.values_list("pk", "state"))
    assert (states[first.pk], states[last.pk]) == ("ok", "ok")
    assert [states[s.pk] for s in (later, off, page, mailing)] == ["new"] * 4
    broken.refresh_from_db()
    assert (broken.state, broken.failures, broken.failing_since) == ("failing", 1, now)
    assert broken.error.startswith("An error in changedesk stopped the fetch")
    assert broken.next_check_at == now + timedelta(hours=6)
    assert Patch.objects.count() == 4  # two from each (the Atom feed's 2019 entry left out)
    assert feeds.poll_due(now) == 0


def _entry(guid: str, title: str, when: datetime, text: str = "") -> str:
    stamp = when.strftime("%a, %d %b %Y %H:%M:%S +0000")
    return (
        f"<item><guid>{guid}</guid><title>{title}</title><pubDate>{stamp}</pubDate>"
        f"<description>{text}</description></item>"
    )


def _rss(*items: str) -> bytes:
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        + "".join(items)
        + "</channel></rss>"
    ).encode()


def test_a_new_feed_leaves_out_its_back_catalogue(school, pam, vendor, server):
    now = timezone.now()
    server.routes["/feed.xml"] = answer(
        _rss(
            _entry("new", "KB5090001 this month", now - timedelta(days=3)),
            _entry("old", "KB5080001 last spring", now - timedelta(days=200)),
        )
    )
    source = add_feed(school, pam, vendor, server.url(), added=None)

    result = feeds.poll(source, now)

    assert [p.entry_id for p in result.created] == ["new"]
    assert feeds.poll(source, now).created == []  # and it stays left out


def test_a_nul_in_an_entry_does_not_stop_the_feed(school, pam, vendor, server):
    now = timezone.now()
    server.routes["/feed.xml"] = answer(
        _rss(
            _entry("nul", "KB5090002 with &#0; a NUL", now, "Bad &#0; text"),
            _entry("fine", "KB5090003 fine", now),
        )
    )
    source = add_feed(school, pam, vendor, server.url())

    result = feeds.poll(source, now)

    assert sorted(p.entry_id for p in result.created) == ["fine", "nul"]
    assert "\x00" not in Patch.objects.get(entry_id="nul").title
    source.refresh_from_db()
    assert source.state == "ok"


def test_the_vendors_patch_from_another_feed_is_not_a_second(school, pam, vendor, server):
    now = timezone.now()
    server.routes["/feed.xml"] = answer(_rss(_entry("a", "KB5090004 update", now)))
    first = add_feed(school, pam, vendor, server.url())
    feeds.poll(first, now)
    server.routes["/other.xml"] = answer(_rss(_entry("b", "KB5090004 update again", now)))
    second = add_feed(school, pam, vendor, server.url("/other.xml"))

    result = feeds.poll(second, now)

    assert result.created == [] and result.skipped == 1
    assert Patch.objects.filter(reference="KB5090004").count() == 1
