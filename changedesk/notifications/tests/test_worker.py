"""The outbox worker against a real SMTP server: delivery, retries, giving up, never twice."""

from __future__ import annotations

import os
import signal
import threading
from datetime import timedelta

import pytest
from django.db import OperationalError, connection
from django.utils import timezone

from changedesk.changes.workflow import perform
from changedesk.notifications import worker
from changedesk.notifications.choices import MessageStatus
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
