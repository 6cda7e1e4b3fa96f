"""The outbox worker: sends the mail that is due, retrying with backoff while the server is down.

How a message is sent once, even with several workers on one database, and how a crashed
worker's message moves on within about a minute:

1. *Claim* (a short transaction): the next due row is locked (`SKIP LOCKED` where the
   database has it, so workers pass each other by), its `attempts` counted up and its
   `next_attempt_at` pushed `CLAIM_SECONDS` (a minute) into the future. That lease hides
   it from every other worker; no transaction is held open over SMTP, so web requests
   never wait on the mail server. One message is claimed at a time.
2. *Send*, outside any transaction, in a helper thread, while this thread renews the
   lease every `RENEW_SECONDS`: a slow mail server never lets the lease lapse under a
   live worker. Should a renewal find the message taken over (this worker was stalled
   past its lease and another claimed it), the message is not handed to the server; one
   already being handed over is logged.
3. *Record* (a short transaction): sent, or the error and the next try. Every update is
   fenced on the claimed `attempts`, so a worker that outlived its lease cannot
   overwrite what another recorded.

A worker that dies stops renewing: its message is due again when the lease ends, at
most `CLAIM_SECONDS` later, and the next pass of any worker sends it. Delivery is
therefore at least once: a worker killed between the mail server accepting a message
and step 3 (one UPDATE long) leaves it to be sent again, and the retry carries the same
Message-ID (fixed by the outbox key, see `email.message_id`) so mail clients drop the
duplicate. The alternative, marking sent before sending, would lose mail. A message whose
sending keeps killing the worker still uses up its attempts and ends `failed`, rather
than being tried for ever.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import smtplib
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import DatabaseError, close_old_connections, connection, transaction
from django.utils import timezone

from changedesk.notifications.choices import MessageStatus
from changedesk.notifications.email import build_message
from changedesk.notifications.models import OutboxMessage

logger = logging.getLogger("changedesk.worker")

# How long a claim hides a message from other workers unless renewed: how late a crashed
# worker's message can be. A live worker renews it every RENEW_SECONDS while it sends, so
# two renewals may be missed (a stalled database) before the lease lapses.
CLAIM_SECONDS = 60
RENEW_SECONDS = 20
MAX_BACKOFF_SECONDS = 3600
# Used when EMAIL_TIMEOUT is unset, so a silent mail server cannot hang the worker.
DEFAULT_SMTP_TIMEOUT = 30


def backoff(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failure: doubling from OUTBOX_RETRY_SECONDS, at most 1h."""
    base = max(1, int(settings.OUTBOX_RETRY_SECONDS))
    seconds = base * 2 ** min(max(attempts - 1, 0), 20)
    return timedelta(seconds=min(seconds, MAX_BACKOFF_SECONDS))


def send_due(
    batch: int = 50,
    now: datetime | None = None,
    *,
    should_stop: Callable[[], bool] | None = None,
) -> tuple[int, int]:
    """Send up to `batch` messages that are due; returns (sent, failed attempts).

    `now` fixes the clock for the whole pass (the tests move it forward); by default
    it is the real time at each step. `should_stop` is asked before each message.
    """
    sent = failed = 0
    mailer: BaseEmailBackend | None = None
    try:
        for _ in range(batch):
            if should_stop is not None and should_stop():
                break
            claimed = claim_next(now)
            if claimed is None:
                break
            try:
                email = build_message(claimed)
                if mailer is None:
                    # One connection for the whole pass, opened with the first message due.
                    mailer = _connection()
                delivered = _send_holding_claim(mailer, email, claimed, now)
                if delivered is None:
                    continue  # another worker has it now
                if delivered != 1:
                    raise RuntimeError("the mail backend did not accept the message")
            except Exception as exc:
                failed += 1
                record_failure(claimed, exc, now)
                if _server_unreachable(exc):
                    # The rest would fail the same way; leave them untouched until next time.
                    break
                continue
            if mark_sent(claimed, now):
                sent += 1
    finally:
        if mailer is not None:
            _close_quietly(mailer)
    return sent, failed


def _send_holding_claim(
    mailer: BaseEmailBackend,
    email: EmailMessage,
    message: OutboxMessage,
    now: datetime | None,
) -> int | None:
    """Open the connection if need be and send `email`, renewing the claim meanwhile.

    The sending runs in a helper thread; this one, which holds the database connection,
    renews the lease every RENEW_SECONDS until it is done. Returns what the backend
    returned, or None when the claim was lost before the message was handed over (then
    it was not sent). The backend's error, if any, is raised here.
    """
    lost = threading.Event()
    outcome: list[int] = []
    errors: list[BaseException] = []

    def send() -> None:
        try:
            mailer.open()
            if lost.is_set():
                return
            outcome.append(mailer.send_messages([email]))
        except BaseException as exc:  # handed to the worker's thread, which records it
            errors.append(exc)

    sender = threading.Thread(target=send, name=f"outbox-send-{message.pk}", daemon=True)
    sender.start()
    while True:
        sender.join(RENEW_SECONDS)
        if not sender.is_alive():
            break
        if not lost.is_set() and renew_claim(message, now) is False:
            lost.set()
    if errors:
        raise errors[0]
    if not outcome:
        logger.warning(
            "Did not send %s %s: another worker took it over while the connection opened",
            message.template,
            message.pk,
        )
        return None
    if lost.is_set():
        logger.warning("Message %s was being sent when another worker took it over", message.pk)
    return outcome[0]


def renew_claim(message: OutboxMessage, now: datetime | None = None) -> bool | None:
    """Extend this worker's lease on `message` by CLAIM_SECONDS from now.

    False when another worker has claimed it since (or it was recorded); None when the
    database could not be asked (the lease may still hold; the next renewal tries again).
    """
    at = now or timezone.now()
    try:
        renewed = OutboxMessage.objects.filter(
            pk=message.pk, status=MessageStatus.PENDING, attempts=message.attempts
        ).update(next_attempt_at=at + timedelta(seconds=CLAIM_SECONDS))
    except DatabaseError:
        logger.warning("Could not renew the claim on message %s", message.pk, exc_info=True)
        return None
    return renewed == 1


def claim_next(now: datetime | None = None) -> OutboxMessage | None:
    """Take the next due message for this worker: count the attempt and start its lease
    (CLAIM_SECONDS, renewed while it is sent)."""
    at = now or timezone.now()
    while True:
        with transaction.atomic():
            due = (
                OutboxMessage.objects.filter(status=MessageStatus.PENDING, next_attempt_at__lte=at)
                .select_related("school", "recipient")
                .order_by("next_attempt_at", "id")
            )
            if connection.features.has_select_for_update_skip_locked:
                due = due.select_for_update(skip_locked=True, of=("self",))
            message = due.first()
            if message is None:
                return None
            if message.attempts >= settings.OUTBOX_MAX_ATTEMPTS:
                # Only reached when a worker died mid-send on every one of its attempts.
                _give_up(message, message.last_error or "The worker stopped while sending it.")
                continue
            # Compare-and-set on `attempts` keeps the claim exclusive on databases without
            # row locks too (SQLite serialises the writers).
            claimed = OutboxMessage.objects.filter(
                pk=message.pk, status=MessageStatus.PENDING, attempts=message.attempts
            ).update(
                attempts=message.attempts + 1,
                next_attempt_at=at + timedelta(seconds=CLAIM_SECONDS),
            )
        if claimed == 1:
            message.attempts += 1
            return message


def mark_sent(message: OutboxMessage, now: datetime | None = None) -> bool:
    updated = OutboxMessage.objects.filter(
        pk=message.pk, status=MessageStatus.PENDING, attempts=message.attempts
    ).update(status=MessageStatus.SENT, sent_at=now or timezone.now(), last_error="")
    if updated:
        logger.info("Sent %s %s to %s", message.template, message.pk, message.to_address)
    else:
        logger.warning("Message %s was sent but another worker had taken it over", message.pk)
    return bool(updated)


def record_failure(message: OutboxMessage, exc: BaseException, now: datetime | None = None) -> None:
    """Note the error; try again later, or give up after OUTBOX_MAX_ATTEMPTS."""
    error = f"{type(exc).__name__}: {exc}"[:2000]
    at = now or timezone.now()
    if message.attempts >= settings.OUTBOX_MAX_ATTEMPTS:
        _give_up(message, error)
        return
    next_attempt_at = at + backoff(message.attempts)
    logger.warning(
        "Could not send %s %s to %s (attempt %s), retrying at %s: %s",
        message.template,
        message.pk,
        message.to_address,
        message.attempts,
        next_attempt_at.isoformat(),
        error,
    )
    OutboxMessage.objects.filter(
        pk=message.pk, status=MessageStatus.PENDING, attempts=message.attempts
    ).update(last_error=error, next_attempt_at=next_attempt_at)


def _give_up(message: OutboxMessage, error: str) -> None:
    OutboxMessage.objects.filter(
        pk=message.pk, status=MessageStatus.PENDING, attempts=message.attempts
    ).update(status=MessageStatus.FAILED, last_error=error[:2000])
    logger.error(
        "Gave up on %s %s to %s after %s attempts: %s",
        message.template,
        message.pk,
        message.to_address,
        message.attempts,
        error,
    )


class _Stopper:
    """Set by a signal handler; a plain flag, since a handler must not take locks."""

    def __init__(self) -> None:
        self.stopped = False

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        logger.info("Stopping after the current message (signal %s)", signum)
        self.stopped = True
        # A second Ctrl-C stops at once.
        signal.signal(signal.SIGINT, signal.default_int_handler)

    def sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self.stopped and time.monotonic() < deadline:
            time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))


def run(once: bool = False, interval: float = 5, batch: int = 50) -> tuple[int, int]:
    """Send the outbox until stopped (SIGTERM, SIGINT or Ctrl-C); with `once`, one pass.

    Returns the totals (sent, failed attempts).
    """
    stopper = _Stopper()
    previous: dict[signal.Signals, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            previous[sig] = signal.signal(sig, stopper)
    total_sent = total_failed = 0
    if not once:
        logger.info("Outbox worker started; checking every %ss", interval)
    try:
        while not stopper.stopped:
            _refresh_connections()
            run_jobs(timezone.now())
            try:
                sent, failed = send_due(batch, should_stop=lambda: stopper.stopped)
            except Exception:
                if once:
                    raise
                # The database went away or similar: say so, wait, and carry on.
                logger.exception("Outbox pass failed; trying again in %ss", interval)
                stopper.sleep(interval)
                continue
            total_sent += sent
            total_failed += failed
            if once:
                break
            if sent + failed < batch:
                stopper.sleep(interval)
    except KeyboardInterrupt:
        logger.info("Stopped")
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        _refresh_connections()
    return total_sent, total_failed


# --- Jobs: what the apps queue by the clock before each pass sends the outbox. ---

# Registered by the apps through `changes.extensions` (reminders, summaries, nudges), so the
# worker imports none of them. Run in the order registered.
_jobs: dict[str, Callable[[datetime], Any]] = {}


def register_job(name: str, run_job: Callable[[datetime], Any]) -> None:
    _jobs[name] = run_job


def has_job(name: str) -> bool:
    return name in _jobs


def unregister_job(name: str) -> None:
    _jobs.pop(name, None)


def run_jobs(now: datetime) -> None:
    """Run every registered job once. A failing job is logged and the others run, and the
    outbox is sent all the same."""
    for name, job in list(_jobs.items()):
        try:
            job(now)
        except Exception:
            logger.exception("The %s job failed; sending the outbox anyway", name)


def _refresh_connections() -> None:
    """Start a pass as a request starts: drop database connections that broke or outlived
    CONN_MAX_AGE, and have the next query health-check the one kept (CONN_HEALTH_CHECKS,
    in settings), so that a connection the database dropped while the worker slept (a
    restart) is replaced rather than failing the pass.

    Not inside a transaction (the tests run the worker in one), where closing would abort it.
    """
    if not connection.in_atomic_block:
        close_old_connections()


def _connection() -> BaseEmailBackend:
    timeout = getattr(settings, "EMAIL_TIMEOUT", None) or DEFAULT_SMTP_TIMEOUT
    return get_connection(fail_silently=False, timeout=timeout)


def _server_unreachable(exc: BaseException) -> bool:
    """Whether the error is the server's (down, refusing, timing out), not this message's."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return False
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code == 421 or isinstance(exc, smtplib.SMTPAuthenticationError)
    return isinstance(exc, OSError)


def _close_quietly(mailer: BaseEmailBackend) -> None:
    # The connection is being dropped anyway; a failure to say QUIT changes nothing.
    with contextlib.suppress(Exception):
        mailer.close()
