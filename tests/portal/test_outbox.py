"""Notices never block a request, and none is lost (issue 10, section 2).

The request writes the outbox row and queues it on the real broker (Redis); a Celery worker
started in this process sends it. A mail server that refuses or hangs never touches the
request, and the notice is delivered once after the fault is gone.
"""

import datetime as dt

import pytest
from celery.contrib.testing.worker import start_worker
from django.core import mail
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.kernel.notifications import (
    notification_deliver,
    notification_enqueue,
    notifications_resend,
    notify,
)
from accounts.models import Notification
from accounts.tokens import api_token_issue
from portal.celery import app
from tests.accounts.factories import PlatformUserFactory

from .mail_backends import HangingBackend, RefusingBackend

pytestmark = pytest.mark.django_db(transaction=True)

OVER_THE_NOTICE = 40_000  # of the standard 50,000 limit: past the 75 % notice (art. 26.1)


@pytest.fixture
def broker():
    """Tasks go through Redis, not inline; the queue starts empty."""
    app.conf.task_always_eager = False
    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge("celery")
    yield app
    app.conf.task_always_eager = True


@pytest.fixture
def platform_api(db):
    _, key = api_token_issue(user=PlatformUserFactory(), name="platform")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return api


def _usage_crossing_the_notice(api, company):
    return api.post(
        "/api/v1/usage/",
        [
            {
                "id": f"rec-{company.pk}-1",
                "client": company.pk,
                "channel": "sms",
                "message_count": OVER_THE_NOTICE,
                "amount": "0.05",
                "occurred_at": "2026-03-01T10:00:00+08:00",
            }
        ],
        format="json",
    )


def _run_worker_until_idle():
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        deadline = timezone.now() + dt.timedelta(seconds=30)
        with app.connection_for_read() as conn:
            while timezone.now() < deadline:
                if conn.default_channel.client.llen("celery") == 0:
                    break
        # let the worker finish the task it took last
        app.control.inspect(timeout=1).active()


@pytest.mark.parametrize("backend", [RefusingBackend, HangingBackend], ids=["refusing", "hanging"])
def test_a_usage_post_answers_without_the_mail_server_and_the_notice_goes_out_once_later(
    broker, platform_api, client_company, settings, backend
):
    # given: a mail server that refuses connections, or one that hangs
    backend.reset()
    HangingBackend.released.clear()
    settings.EMAIL_BACKEND = f"{backend.__module__}.{backend.__name__}"
    settings.EMAIL_TIMEOUT = 1

    # when: the platform reports usage that crosses the 75 % notice
    response = _usage_crossing_the_notice(platform_api, client_company)

    # then: the answer is complete and the mail server was never asked
    assert response.status_code == 200
    assert response.json()["accepted"] == 1
    assert backend.attempts == 0
    notice = Notification.objects.get(client=client_company)
    assert notice.sent_at is None

    # when: a worker takes the queued notice while the fault lasts
    _run_worker_until_idle()
    notice.refresh_from_db()
    # then: it failed, recorded why, and stays in the outbox
    assert backend.attempts >= 1 and notice.sent_at is None
    assert notice.last_error and notice.claimed_until is None

    # when: the fault is gone and the resend job runs (twice, as beat may)
    backend.down = False
    HangingBackend.released.set()
    attempts_before = backend.attempts
    later = timezone.now() + dt.timedelta(minutes=10)
    assert notifications_resend(now=later) == {"unsent": 1, "queued": 1}
    _run_worker_until_idle()
    assert notifications_resend(now=later) == {"unsent": 0, "queued": 0}

    # then: the notice was delivered once
    notice.refresh_from_db()
    assert notice.sent_at is not None
    assert backend.attempts == attempts_before + 1
    assert len(mail.outbox) == 1 and "75" in mail.outbox[0].body + mail.outbox[0].subject


def test_a_claimed_notice_is_not_sent_by_a_second_attempt(client_company, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    app.conf.task_always_eager = False
    try:
        notify(key="k-claim", recipients=["a@example.com"], subject="s", body="b")
    finally:
        app.conf.task_always_eager = True
    pk = Notification.objects.get(key="k-claim").pk
    # given: an attempt holds the row (its lease has not run out)
    Notification.objects.filter(pk=pk).update(
        claimed_until=timezone.now() + dt.timedelta(minutes=5)
    )
    # when: a redelivered task and the resend job come for it
    assert notification_deliver(pk) is False
    assert notifications_resend(now=timezone.now() + dt.timedelta(minutes=3))["unsent"] == 0
    # then: nothing was sent; once the lease is over the row goes out, once
    Notification.objects.filter(pk=pk).update(
        claimed_until=timezone.now() - dt.timedelta(seconds=1)
    )
    assert notification_deliver(pk) is True
    assert notification_deliver(pk) is False
    assert len(mail.outbox) == 1


def test_a_broker_that_is_down_costs_the_request_nothing(client_company, settings, monkeypatch):
    # given: Redis (the broker) does not answer
    app.conf.task_always_eager = False
    monkeypatch.setattr(app.conf, "broker_url", "redis://127.0.0.1:1/0")
    app.pool.force_close_all()
    try:
        notify(key="k-down", recipients=["a@example.com"], subject="s", body="b")
        pk = Notification.objects.get(key="k-down").pk
        # when / then: queueing fails quietly; the row waits for the resend job
        assert notification_enqueue(pk) is False
        assert Notification.objects.get(pk=pk).sent_at is None
    finally:
        app.conf.task_always_eager = True
        monkeypatch.undo()
        app.pool.force_close_all()


def test_the_web_keeps_working_while_redis_is_down(
    platform_api, client_company, client_admin, settings, monkeypatch
):
    # given: Redis, the cache and the broker, does not answer
    dead = "redis://127.0.0.1:1/0"
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": dead}
    }
    app.conf.task_always_eager = False
    monkeypatch.setattr(app.conf, "broker_url", dead)
    app.pool.force_close_all()
    try:
        # when: a client admin opens pages and the platform reports usage past the notice
        from django.test import Client

        browser = Client()
        browser.force_login(client_admin)
        pages = [browser.get(path).status_code for path in ("/", "/billing/wallet/")]
        response = _usage_crossing_the_notice(platform_api, client_company)
    finally:
        app.conf.task_always_eager = True
        monkeypatch.undo()
        app.pool.force_close_all()
    # then: everything answered, and the notice waits in the outbox for the resend job
    assert pages == [200, 200]
    assert response.status_code == 200 and response.json()["accepted"] == 1
    assert Notification.objects.get(client=client_company).sent_at is None
