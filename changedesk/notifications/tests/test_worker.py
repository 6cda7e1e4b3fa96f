"""The outbox worker against a real SMTP server: delivery, retries, giving up, never twice."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import ClassVar

import pytest
from django.core.mail import EmailMessage, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import OperationalError, connection
from django.utils import timezone

from changedesk.changes.workflow import perform
from changedesk.notifications import worker
from changedesk.notifications.choices import MessageStatus
from changedesk.notifications.email import build_message
from changedesk.notifications.models import OutboxMessage
from changedesk.notifications.outbox import enqueue
from changedesk.notifications.worker import CLAIM_SECONDS, backoff, claim_next, run, send_due


@pytest.fixture
def waiting(draft, team) -> OutboxMessage:
    """Olivia submits her RFC: one mail to Ian, the initial approver, is queued."""
    perform(draft.pk, "submit", team["olivia"])
    return OutboxMessage.objects.get()


@pytest.fixture
def two_waiting(waiting, draft, team) -> list[OutboxMessage]:
    """Ian approves it: a second mail, to Olivia, joins the one to Ian."""
    perform(draft.pk, "approve", team["ian"])
    return list(OutboxMessage.objects.order_by("id"))


def test_it_sends_a_text_and_html_mail_with_the_decide_link(waiting, mail_server, draft):
    mail_server.start()

    assert send_due() == (1, 0)

    [received] = mail_server.messages
    assert received["To"] == "ian@greenfield.example"
    assert received["Subject"] == "RFC-0001 waits for you: Replace the ICT suite 2 switch"
    assert received["Message-ID"].endswith("@changes.greenfield.example>")
    text = received.get_body(("plain",)).get_content()
    html = received.get_body(("html",)).get_content()
    link = f"https://changes.greenfield.example{waiting.context['decide_path']}"
    assert link.startswith("https://changes.greenfield.example/decide/")
    assert f"Decide now: {link}" in text
    assert f'href="{link}"' in html
    assert "Decide now</a>" in html
    waiting.refresh_from_db()
    assert waiting.status == MessageStatus.SENT
    assert waiting.sent_at is not None
    assert waiting.attempts == 1
    assert waiting.last_error == ""


def test_it_retries_with_backoff_while_the_server_is_down(waiting, mail_server):
    now = timezone.now()

    assert send_due(now=now) == (0, 1)

    waiting.refresh_from_db()
    assert waiting.status == MessageStatus.PENDING
    assert waiting.attempts == 1
    assert waiting.next_attempt_at == now + timedelta(seconds=60)
    assert "refused" in waiting.last_error.lower()
    # Not due again until the backoff has passed.
    assert send_due(now=now + timedelta(seconds=30)) == (0, 0)

    later = now + timedelta(seconds=61)
    assert send_due(now=later) == (0, 1)
    waiting.refresh_from_db()
    assert waiting.attempts == 2
    assert waiting.next_attempt_at == later + timedelta(seconds=120)

    mail_server.start()
    assert send_due(now=later + timedelta(seconds=119)) == (0, 0)
    assert send_due(now=later + timedelta(seconds=120)) == (1, 0)
    assert send_due(now=later + timedelta(days=1)) == (0, 0)

    assert len(mail_server.messages) == 1
    waiting.refresh_from_db()
    assert waiting.status == MessageStatus.SENT
    assert waiting.attempts == 3


def test_it_leaves_the_rest_untouched_when_the_server_is_down(two_waiting, mail_server):
    assert send_due(now=timezone.now()) == (0, 1)

    first, second = (m.attempts for m in OutboxMessage.objects.order_by("id"))
    assert (first, second) == (1, 0)


def test_it_gives_up_after_the_maximum_attempts(waiting, mail_server):
    now = timezone.now()
    for attempt in range(3):
        assert send_due(now=now + timedelta(hours=attempt)) == (0, 1)

    waiting.refresh_from_db()
    assert waiting.status == MessageStatus.FAILED
    assert waiting.attempts == 3
    assert waiting.last_error

    mail_server.start()
    assert send_due(now=now + timedelta(days=30)) == (0, 0)
    assert mail_server.messages == []


def test_it_never_sends_a_message_twice(two_waiting, mail_server):
    mail_server.start()

    assert send_due() == (2, 0)
    assert send_due() == (0, 0)
    assert send_due(now=timezone.now() + timedelta(days=365)) == (0, 0)

    assert sorted(m["To"] for m in mail_server.messages) == [
        "ian@greenfield.example",
        "olivia@greenfield.example",
    ]


def test_it_sends_the_others_when_one_address_is_refused(two_waiting, mail_server):
    mail_server.inbox.refuse.add("ian@greenfield.example")
    mail_server.start()

    assert send_due() == (1, 1)

    to_ian, to_olivia = OutboxMessage.objects.order_by("id")
    assert to_ian.status == MessageStatus.PENDING
    assert "No such mailbox" in to_ian.last_error
    assert to_olivia.status == MessageStatus.SENT
    assert [m["To"] for m in mail_server.messages] == ["olivia@greenfield.example"]


def test_a_message_claimed_by_another_worker_is_left_alone_until_its_lease_ends(
    waiting, mail_server
):
    mail_server.start()
    now = timezone.now()
    # Another worker claims it, then dies before recording anything.
    assert claim_next(now) is not None

    assert send_due(now=now + timedelta(seconds=CLAIM_SECONDS - 1)) == (0, 0)
    assert mail_server.messages == []

    assert send_due(now=now + timedelta(seconds=CLAIM_SECONDS)) == (1, 0)
    assert len(mail_server.messages) == 1
    waiting.refresh_from_db()
    assert waiting.attempts == 2


def test_a_claim_lasts_a_minute_unless_renewed():
    assert CLAIM_SECONDS == 60
    assert worker.RENEW_SECONDS * 3 <= CLAIM_SECONDS


def test_a_crashed_workers_message_is_sent_again_within_a_minute_with_the_same_message_id(
    waiting, mail_server, time_machine
):
    """The at-least-once window: the server accepted it, the worker died before recording."""
    mail_server.start()
    time_machine.move_to(timezone.now(), tick=False)
    claimed = claim_next()
    assert claimed is not None
    assert get_connection().send_messages([build_message(claimed)]) == 1
    # ... and the worker is killed here, before marking it sent.

    time_machine.shift(timedelta(seconds=59))
    assert send_due() == (0, 0)
    assert len(mail_server.messages) == 1

    time_machine.shift(timedelta(seconds=1))
    assert send_due() == (1, 0)
    first, again = mail_server.messages
    assert again["Message-ID"] == first["Message-ID"]
    assert again["To"] == first["To"] == "ian@greenfield.example"
    waiting.refresh_from_db()
    assert (waiting.status, waiting.attempts) == (MessageStatus.SENT, 2)
    time_machine.shift(timedelta(days=1))
    assert send_due() == (0, 0)
    assert len(mail_server.messages) == 2


class SlowBackend(BaseEmailBackend):
    """A mail server that takes its time: `opening` and `sending` run while the worker waits."""

    opening: ClassVar[Callable[[], None]] = staticmethod(lambda: None)
    sending: ClassVar[Callable[[], None]] = staticmethod(lambda: None)
    sent: ClassVar[list[EmailMessage]] = []

    def open(self) -> bool:
        type(self).opening()
        return True

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        type(self).sending()
        self.sent.extend(email_messages)
        return len(email_messages)


@pytest.fixture
def slow_backend(settings, monkeypatch):
    settings.EMAIL_BACKEND = f"{__name__}.SlowBackend"
    monkeypatch.setattr(worker, "RENEW_SECONDS", 0.01)
    monkeypatch.setattr(SlowBackend, "sent", [])
    return SlowBackend


def test_a_live_worker_renews_its_claim_so_no_other_pass_takes_it(
    waiting, slow_backend, monkeypatch, time_machine
):
    time_machine.move_to(timezone.now(), tick=False)
    renewed = threading.Event()
    others: list[OutboxMessage | None] = []
    renew_claim = worker.renew_claim

    def renew_and_look(message, now=None):
        # Another worker's pass, between this worker's renewals.
        others.append(claim_next())
        result = renew_claim(message, now)
        renewed.set()
        return result

    def takes_two_and_a_half_minutes():
        for _ in range(6):
            renewed.clear()
            time_machine.shift(timedelta(seconds=25))
            assert renewed.wait(10)

    monkeypatch.setattr(worker, "renew_claim", renew_and_look)
    monkeypatch.setattr(SlowBackend, "sending", staticmethod(takes_two_and_a_half_minutes))

    assert send_due() == (1, 0)

    assert len(others) >= 6
    assert others == [None] * len(others)
    assert [m.to for m in slow_backend.sent] == [["ian@greenfield.example"]]
    waiting.refresh_from_db()
    assert (waiting.status, waiting.attempts) == (MessageStatus.SENT, 1)


def test_a_worker_that_lost_its_claim_does_not_send(
    waiting, slow_backend, monkeypatch, time_machine
):
    """Stalled opening the connection past its lease, it finds another worker has the message."""
    time_machine.move_to(timezone.now(), tick=False)
    stalled, renewed = threading.Event(), threading.Event()
    taken: list[OutboxMessage | None] = []
    renew_claim = worker.renew_claim

    def renew_after_another_took_it(message, now=None):
        if not stalled.is_set():
            return renew_claim(message, now)
        taken.append(claim_next())  # the lease lapsed: another worker claims it
        result = renew_claim(message, now)
        renewed.set()
        return result

    def stall():
        time_machine.shift(timedelta(seconds=CLAIM_SECONDS + 30))
        stalled.set()
        assert renewed.wait(10)

    monkeypatch.setattr(worker, "renew_claim", renew_after_another_took_it)
    monkeypatch.setattr(SlowBackend, "opening", staticmethod(stall))

    assert send_due() == (0, 0)

    assert slow_backend.sent == []
    [other] = taken
    assert other is not None
    assert other.attempts == 2
    waiting.refresh_from_db()
    assert (waiting.status, waiting.attempts) == (MessageStatus.PENDING, 2)


def test_the_normal_path_sends_once_without_renewing(waiting, mail_server, monkeypatch):
    mail_server.start()
    renewals = []
    monkeypatch.setattr(worker, "renew_claim", lambda *args: renewals.append(args) or True)

    assert send_due() == (1, 0)
    assert send_due(now=timezone.now() + timedelta(days=1)) == (0, 0)

    assert len(mail_server.messages) == 1
    assert renewals == []
    waiting.refresh_from_db()
    assert (waiting.status, waiting.attempts) == (MessageStatus.SENT, 1)


def test_a_message_that_kept_killing_the_worker_is_given_up(waiting, mail_server, settings):
    mail_server.start()
    OutboxMessage.objects.filter(pk=waiting.pk).update(attempts=settings.OUTBOX_MAX_ATTEMPTS)

    assert send_due() == (0, 0)

    waiting.refresh_from_db()
    assert waiting.status == MessageStatus.FAILED
    assert mail_server.messages == []


@pytest.mark.parametrize(
    ("attempts", "seconds"), [(1, 60), (2, 120), (3, 240), (6, 1920), (7, 3600), (30, 3600)]
)
def test_backoff_doubles_up_to_an_hour(settings, attempts, seconds):
    settings.OUTBOX_RETRY_SECONDS = 60
    assert backoff(attempts) == timedelta(seconds=seconds)


def test_run_once_sends_what_is_due(waiting, mail_server):
    mail_server.start()

    assert run(once=True) == (1, 0)
    assert len(mail_server.messages) == 1
    waiting.refresh_from_db()
    assert waiting.status == MessageStatus.SENT


def test_run_stops_cleanly_on_sigterm(db, monkeypatch):
    calls = []

    def fake_send_due(batch, **kwargs):
        calls.append(batch)
        os.kill(os.getpid(), signal.SIGTERM)
        return (0, 0)

    before = signal.getsignal(signal.SIGTERM)
    monkeypatch.setattr(worker, "send_due", fake_send_due)

    assert run(interval=60) == (0, 0)
    assert calls == [50]
    assert signal.getsignal(signal.SIGTERM) == before


def test_run_stops_cleanly_on_keyboard_interrupt(db, monkeypatch):
    def interrupted(batch, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(worker, "send_due", interrupted)

    assert run(interval=60) == (0, 0)


def test_run_carries_on_after_a_failed_pass(db, monkeypatch, caplog):
    calls = []

    def flaky(batch, **kwargs):
        calls.append(batch)
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        os.kill(os.getpid(), signal.SIGTERM)
        return (2, 0)

    monkeypatch.setattr(worker, "send_due", flaky)

    assert run(interval=0.01) == (2, 0)
    assert len(calls) == 2
    assert "Outbox pass failed" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_concurrent_workers_send_each_message_once(team, mail_server):
    if connection.vendor != "postgresql":
        pytest.skip("several workers at once need PostgreSQL's row locks")
    mail_server.start()
    for n in range(12):
        enqueue(
            recipient=team["ian"],
            template="change_waiting",
            context={"reference": f"RFC-{n:04d}", "title": "Test", "path": "/", "task": "x"},
            key=f"test:{n}",
        )
    results: list[tuple[int, int]] = []
    start = threading.Barrier(3)

    def work() -> None:
        start.wait()
        try:
            results.append(send_due(batch=12))
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum(sent for sent, _ in results) == 12
    assert len(mail_server.messages) == 12
    assert len({m["Message-ID"] for m in mail_server.messages}) == 12
    assert OutboxMessage.objects.filter(status=MessageStatus.SENT, attempts=1).count() == 12


@pytest.mark.django_db(transaction=True)
def test_concurrent_workers_on_a_slow_server_keep_their_claims(team, mail_server, monkeypatch):
    """Each send outlasts the claim; the renewals keep the other workers off it."""
    if connection.vendor != "postgresql":
        pytest.skip("several workers at once need PostgreSQL's row locks")
    monkeypatch.setattr(worker, "CLAIM_SECONDS", 2)
    monkeypatch.setattr(worker, "RENEW_SECONDS", 0.2)
    mail_server.inbox.delay = 3.0
    mail_server.start()
    for n in range(6):
        enqueue(
            recipient=team["ian"],
            template="change_waiting",
            context={"reference": f"RFC-{n:04d}", "title": "Test", "path": "/", "task": "x"},
            key=f"slow:{n}",
        )
    results: list[tuple[int, int]] = []
    start = threading.Barrier(3)

    def work() -> None:
        start.wait()
        try:
            results.append(send_due(batch=6))
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum(sent for sent, _ in results) == 6
    assert len(mail_server.messages) == 6
    assert len({m["Message-ID"] for m in mail_server.messages}) == 6
    assert OutboxMessage.objects.filter(status=MessageStatus.SENT, attempts=1).count() == 6
