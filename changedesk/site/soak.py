"""The soak benchmark (`make soak`): web, worker and an SMTP sink under a user mix for a while.

Not a test (pytest never collects it): it starts, in a temporary data directory, the demo
school (`changedesk demo`), the web server (`changedesk serve`, gunicorn with
`WEB_CONCURRENCY` workers), an outbox worker (`changedesk worker`) and, in this process, an
SMTP sink (aiosmtpd) that counts the mail and the duplicates by Message-ID. `SOAK_USERS`
client threads (default 10) then use the REST API as the demo's people do -- read the change
log, open RFCs and their history, look for slots, and raise RFCs that Olivia submits and Ian
approves, which sends mail -- for `SOAK_SECONDS` (default 600; 3600 for a release), while the
resident memory (RSS) of the gunicorn master, each gunicorn worker and the outbox worker is
sampled every `SOAK_SAMPLE_SECONDS` (default 10).

At the end it prints requests, errors, p50 and p95 per endpoint, throughput per minute, mail
sent, received and duplicated, and each process's RSS over time (first, max, last, growth per
10 minutes), and exits 1 if any request got a 5xx or no answer, or any mail came twice.
SQLite by default; `DATABASE_URL` (e.g. a PostgreSQL database of its own) is used if set.

    python -m changedesk.site.soak       # or: make soak SOAK_SECONDS=3600
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCHOOL = "greenfield"
# The demo's people the clients act as (the demo's password is changedesk-demo; the API
# takes a token, which `changedesk token` prints).
READERS = ("olivia", "ian", "fiona", "sam", "tom")
ORIGINATOR = "olivia"
APPROVER = "ian"
TIMEOUT = 60.0


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    return int(value) if value.strip() else default


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# --- The SMTP sink. ---


class Sink:
    """An aiosmtpd handler counting the messages and the Message-IDs seen more than once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.received = 0
        self.ids: dict[str, int] = defaultdict(int)
        self.last = time.monotonic()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = envelope.original_content or envelope.content or b""
        if isinstance(content, str):
            content = content.encode()
        match = re.search(rb"^Message-ID:\s*(\S+)", content, re.IGNORECASE | re.MULTILINE)
        with self.lock:
            self.received += 1
            self.last = time.monotonic()
            if match:
                self.ids[match.group(1).decode(errors="replace")] += 1
        return "250 OK"

    def duplicates(self) -> int:
        with self.lock:
            return sum(n - 1 for n in self.ids.values() if n > 1)


# --- The clients. ---


@dataclass
class Stats:
    """Every request's endpoint, status (0: no answer), duration and when it ended."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    rows: list[tuple[str, int, float, float]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def add(self, endpoint: str, status: int, seconds: float, detail: str = "") -> None:
        with self.lock:
            self.rows.append((endpoint, status, seconds, time.monotonic()))
            if (status == 0 or status >= 500) and len(self.failures) < 20:
                self.failures.append(f"{endpoint}: {status} {detail[:200]}")


class Client:
    def __init__(self, base: str, tokens: dict[str, str], stats: Stats) -> None:
        self.base = base
        self.tokens = tokens
        self.stats = stats

    def call(
        self, user: str, method: str, path: str, endpoint: str, body: dict[str, Any] | None = None
    ) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(  # noqa: S310 - our own server, http://127.0.0.1
            self.base + path, data=data, method=method
        )
        request.add_header("Authorization", f"Token {self.tokens[user]}")
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        start = time.monotonic()
        status, payload, detail = 0, None, ""
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310
                status = response.status
                raw = response.read()
            payload = json.loads(raw) if raw else None
        except urllib.error.HTTPError as exc:
            status = exc.code
            detail = exc.read().decode(errors="replace")
        except (OSError, ValueError) as exc:
            detail = repr(exc)
        self.stats.add(f"{method} {endpoint}", status, time.monotonic() - start, detail)
        return status, payload


def _user_loop(client: Client, stop: threading.Event, seed: int) -> None:
    """One person's session: mostly reading, now and then raising and approving an RFC."""
    rng = random.Random(seed)
    known: list[int] = []
    while not stop.is_set():
        reader = rng.choice(READERS)
        roll = rng.random()
        if roll < 0.35 or not known:
            status, page = client.call(reader, "GET", "/api/v1/changes/", "/api/v1/changes/")
            if status == 200 and isinstance(page, dict):
                known = [row["id"] for row in page.get("results", [])][:50] or known
        elif roll < 0.60:
            rfc = rng.choice(known)
            client.call(reader, "GET", f"/api/v1/changes/{rfc}/", "/api/v1/changes/{id}/")
        elif roll < 0.72:
            rfc = rng.choice(known)
            client.call(
                reader, "GET", f"/api/v1/changes/{rfc}/history/", "/api/v1/changes/{id}/history/"
            )
        elif roll < 0.82:
            client.call(
                reader,
                "GET",
                f"/api/v1/schedule/slots/?school={SCHOOL}&minutes=60",
                "/api/v1/schedule/slots/",
            )
        elif roll < 0.90:
            client.call(reader, "GET", "/api/v1/me/", "/api/v1/me/")
        else:
            _raise_and_approve(client, rng)
        # Think time: a person reads what they asked for.
        stop.wait(rng.uniform(0.2, 1.0))


def _raise_and_approve(client: Client, rng: random.Random) -> None:
    number = rng.randrange(10**6)
    status, created = client.call(
        ORIGINATOR,
        "POST",
        "/api/v1/changes/",
        "/api/v1/changes/",
        {
            "school": SCHOOL,
            "title": f"Soak change {number}",
            "description": "Replace the switch in the server room with a managed one.",
            "reason": "The old switch drops links under load.",
            "initial_approver": APPROVER,
        },
    )
    if status != 201 or not isinstance(created, dict):
        return
    actions = "/api/v1/changes/{id}/actions/"
    path = f"/api/v1/changes/{created['id']}/actions/"
    status, _ = client.call(ORIGINATOR, "POST", path, actions, {"action": "submit"})
    if status == 200:
        client.call(APPROVER, "POST", path, actions, {"action": "approve", "comment": "Fine."})


# --- Memory. ---


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found += [int(p) for p in task.read_text().split()]
        except OSError:
            continue
    return found


def _rss_kb(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _sample(procs: dict[str, int], rss: dict[str, list[tuple[float, int]]], t: float) -> None:
    master = procs["web master"]
    targets = dict(procs)
    for n, child in enumerate(sorted(_children(master)), 1):
        targets[f"web worker {n} (pid {child})"] = child
    for name, pid in targets.items():
        kb = _rss_kb(pid)
        if kb is not None:
            rss[name].append((t, kb))


# --- Running it. ---


def _command(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(  # noqa: S603 - this Python running changedesk's command line
        [sys.executable, "-m", "changedesk.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def _wait_for(url: str, server: subprocess.Popen[bytes], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server stopped (exit {server.returncode}) before answering")
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - our own server
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"the server did not answer {url} within {seconds:.0f} s")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def main() -> int:
    seconds = _env_int("SOAK_SECONDS", 600)
    users = _env_int("SOAK_USERS", 10)
    sample_every = _env_int("SOAK_SAMPLE_SECONDS", 10)
    from aiosmtpd.controller import Controller  # A development requirement.

    with tempfile.TemporaryDirectory(prefix="changedesk-soak-") as data_dir:
        port, smtp_port = _free_port(), _free_port()
        base = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            "DATA_DIR": data_dir,
            "DEBUG": "false",
            "HTTPS": "false",
            "SITE_URL": base,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
            "WEB_CONCURRENCY": os.environ.get("WEB_CONCURRENCY", "2"),
        }
        database = env.get("DATABASE_URL", "SQLite in the data directory")
        print(f"soak: {seconds} s, {users} users, database {database}, data in {data_dir}")
        _command(env, "demo")
        tokens = {name: _command(env, "token", name) for name in {*READERS, ORIGINATOR, APPROVER}}

        sink = Sink()
        controller = Controller(sink, hostname="127.0.0.1", port=smtp_port)
        controller.start()
        log = open(Path(data_dir) / "processes.log", "wb")  # noqa: SIM115 - closed below
        cli = [sys.executable, "-m", "changedesk.cli"]
        server = subprocess.Popen(  # noqa: S603
            [*cli, "serve", "--port", str(port)], env=env, stdout=log, stderr=log
        )
        worker = subprocess.Popen(  # noqa: S603
            [*cli, "worker", "--interval", "2"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=log,
        )
        stats = Stats()
        rss: dict[str, list[tuple[float, int]]] = defaultdict(list)
        stop = threading.Event()
        try:
            _wait_for(f"{base}/api/v1/", server, 120)
            # `serve` replaces itself with gunicorn: its pid is the master's.
            procs = {"web master": server.pid, "outbox worker": worker.pid}
            client = Client(base, tokens, stats)
            threads = [
                threading.Thread(target=_user_loop, args=(client, stop, n), daemon=True)
                for n in range(users)
            ]
            started = time.monotonic()
            for thread in threads:
                thread.start()
            end = started + seconds
            while (now := time.monotonic()) < end:
                _sample(procs, rss, now - started)
                if server.poll() is not None or worker.poll() is not None:
                    print("soak: a process stopped early; see processes.log", file=sys.stderr)
                    break
                time.sleep(max(0.0, min(sample_every, end - now)))
            stop.set()
            for thread in threads:
                thread.join(TIMEOUT + 5)
            elapsed = time.monotonic() - started
            _sample(procs, rss, elapsed)
            # Let the worker drain the outbox: until no mail has come for 6 s (at most 60 s).
            drain_end = time.monotonic() + 60
            while time.monotonic() < drain_end and time.monotonic() - sink.last < 6:
                time.sleep(0.5)
        finally:
            stop.set()
            _stop(worker)
            _stop(server)
            controller.stop()
            log.close()
        out = worker.stdout.read().decode() if worker.stdout else ""
        sent = re.search(r"Sent (\d+), failed (\d+)", out)
        return _report(stats, started, elapsed, sink, sent, rss, Path(data_dir))


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _report(
    stats: Stats,
    started: float,
    elapsed: float,
    sink: Sink,
    sent: re.Match[str] | None,
    rss: dict[str, list[tuple[float, int]]],
    data_dir: Path,
) -> int:
    rows = stats.rows
    print(f"\n== Requests ({len(rows)} in {elapsed:.0f} s, {len(rows) / elapsed:.1f}/s)")
    print(f"{'endpoint':44} {'requests':>8} {'errors':>6} {'5xx':>4} {'p50 ms':>7} {'p95 ms':>7}")
    by_endpoint: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for endpoint, status, duration, _ in rows:
        by_endpoint[endpoint].append((status, duration))
    server_errors = 0
    for endpoint, calls in sorted(by_endpoint.items()):
        times = [d * 1000 for _, d in calls]
        errors = sum(1 for s, _ in calls if not 200 <= s < 300)
        fives = sum(1 for s, _ in calls if s == 0 or s >= 500)
        server_errors += fives
        p50, p95 = _percentile(times, 0.5), _percentile(times, 0.95)
        print(f"{endpoint:44} {len(calls):8} {errors:6} {fives:4} {p50:7.0f} {p95:7.0f}")
    statuses: dict[int, int] = defaultdict(int)
    for _, status, _, _ in rows:
        statuses[status] += 1
    print("statuses: " + ", ".join(f"{s or 'no answer'} x{n}" for s, n in sorted(statuses.items())))
    for failure in stats.failures:
        print(f"  failed: {failure}")

    print("\n== Throughput per minute")
    per_minute: dict[int, int] = defaultdict(int)
    for _, _, _, ended in rows:
        per_minute[int((ended - started) // 60)] += 1
    for minute in sorted(per_minute):
        span = min(60.0, elapsed - minute * 60)
        note = "" if span >= 60 else f" (in {span:.0f} s)"
        print(f"minute {minute + 1:3}: {per_minute[minute]:6} requests{note}")

    duplicates = sink.duplicates()
    sent_text = f"{sent.group(1)} sent, {sent.group(2)} failed" if sent else "sent: unknown"
    print(f"\n== Mail\n{sent_text}; {sink.received} received; {duplicates} duplicated")

    print(f"\n== RSS (MB), sampled every {_env_int('SOAK_SAMPLE_SECONDS', 10)} s")
    print("(growth: the least-squares slope after the first fifth of the run, the warm-up)")
    print(f"{'process':34} {'first':>7} {'max':>7} {'last':>7} {'per 10 min':>11} samples")
    for name, samples in rss.items():
        kbs = [kb for _, kb in samples]
        settled = [(t, kb) for t, kb in samples if t >= elapsed / 5]
        growth = "n/a"
        if len(settled) >= 3 and settled[-1][0] > settled[0][0]:
            fit = statistics.linear_regression([t for t, _ in settled], [kb for _, kb in settled])
            growth = f"{fit.slope * 600 / 1024:+.2f}"
        print(
            f"{name:34} {kbs[0] / 1024:7.1f} {max(kbs) / 1024:7.1f} {kbs[-1] / 1024:7.1f} "
            f"{growth:>11} {len(samples)}"
        )
        # At most about a dozen points of the curve, the last always among them.
        step = max(1, len(samples) // 12)
        shown = [*samples[::step][:-1], samples[-1]] if len(samples) > 1 else samples
        print("  " + " ".join(f"{t:.0f}s:{kb / 1024:.1f}" for t, kb in shown))

    failed = server_errors > 0 or duplicates > 0
    if failed:
        lines = (data_dir / "processes.log").read_text(errors="replace").splitlines()
        problems = [line for line in lines if "Error" in line or "Traceback" in line]
        print("\n== The processes' errors (from their log)\n" + "\n".join(problems[-20:]))
    print("\nsoak: FAILED (5xx or no answer, or mail sent twice)" if failed else "\nsoak: passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
