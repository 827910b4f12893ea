"""Webhooks (issue 15 §2): endpoints a client admin registers, events recorded in the causing
transaction and posted after commit, signed as Standard Webhooks says, retried with exponential
back-off for a day, a delivery log with "send again", the DSR callbacks' address rules."""

import datetime as dt
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.urls import reverse
from django.utils import timezone
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from accounts.kernel import webhooks as kernel
from accounts.kernel.errors import NotAllowed, ValidationFailed
from accounts.kernel.notifications import notify
from accounts.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from accounts.services import webhooks as services
from billing.invoicing.services.payments import payment_record
from tests.accounts.factories import ClientAdminFactory, ClientViewerFactory
from tests.billing.invoicing.factories import company, issued, line


class _Receiver(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802
        raw = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.requests.append((dict(self.headers), raw))
        self.send_response(self.server.answers.pop(0) if self.server.answers else 200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver(settings):
    settings.PORTAL_CALLBACKS_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    server.requests = []
    server.answers = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    server.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def postpaid(cm):
    return company(cm)


@pytest.fixture
def admin(postpaid):
    return ClientAdminFactory(client=postpaid)


def _endpoint(client, admin, url, events=(WebhookEvent.INVOICE_ISSUED,)):
    return services.webhook_endpoint_create(
        client=client, acting_user=admin, url=url, events=list(events)
    )


def _verified(endpoint, request):
    headers, raw = request
    return Webhook(endpoint.secret).verify(raw, headers)


def test_an_issued_invoice_is_posted_signed_to_the_subscribed_endpoint(
    postpaid, admin, billing_staff, receiver, django_capture_on_commit_callbacks
):
    endpoint = _endpoint(postpaid, admin, receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        invoice = issued(postpaid, billing_staff, [line("250.00")], invoice_date=dt.date.today())
    assert len(receiver.requests) == 1
    body = _verified(endpoint, receiver.requests[0])
    assert body["type"] == "invoice.issued"
    assert body["data"]["number"] == invoice.number
    assert body["data"]["total"] == str(invoice.total)
    headers = receiver.requests[0][0]
    assert headers["webhook-id"] == f"evt-invoice-issued:{invoice.pk}"
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert delivery.status == WebhookDelivery.Status.DELIVERED
    assert delivery.attempts == 1 and delivery.last_response_code == 200


def test_a_wrong_secret_does_not_verify(
    postpaid, admin, billing_staff, receiver, django_capture_on_commit_callbacks
):
    _endpoint(postpaid, admin, receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        issued(postpaid, billing_staff, [line("10.00")], invoice_date=dt.date.today())
    headers, raw = receiver.requests[0]
    other = WebhookEndpoint(secret="whsec_" + "A" * 43)
    with pytest.raises(WebhookVerificationError):
        Webhook(other.secret).verify(raw, headers)


def test_an_endpoint_not_subscribed_to_the_event_gets_nothing(
    postpaid, admin, billing_staff, receiver, django_capture_on_commit_callbacks
):
    _endpoint(postpaid, admin, receiver.url, events=[WebhookEvent.PAYMENT_RECORDED])
    with django_capture_on_commit_callbacks(execute=True):
        issued(postpaid, billing_staff, [line("10.00")], invoice_date=dt.date.today())
    assert receiver.requests == []
    assert not WebhookDelivery.objects.exists()


def test_another_clients_event_never_reaches_the_endpoint(
    cm, postpaid, admin, billing_staff, receiver, django_capture_on_commit_callbacks
):
    _endpoint(postpaid, admin, receiver.url)
    someone_else = company(cm)
    with django_capture_on_commit_callbacks(execute=True):
        issued(someone_else, billing_staff, [line("10.00")], invoice_date=dt.date.today())
    assert receiver.requests == []


def test_a_recorded_payment_is_an_event(
    postpaid, admin, billing_staff, receiver, django_capture_on_commit_callbacks
):
    endpoint = _endpoint(postpaid, admin, receiver.url, events=[WebhookEvent.PAYMENT_RECORDED])
    invoice = issued(postpaid, billing_staff, [line("100.00")], invoice_date=dt.date.today())
    with django_capture_on_commit_callbacks(execute=True):
        payment = payment_record(
            invoice=invoice,
            amount="40.00",
            received_on=dt.date.today(),
            reference="bank 1",
            idempotency_key="pay-1",
            acting_user=billing_staff,
        )
    body = _verified(endpoint, receiver.requests[0])
    assert body["type"] == "payment.recorded"
    assert body["data"] == {
        "payment": payment.pk,
        "invoice": invoice.number,
        "amount": "40.00",
        "currency": invoice.currency,
        "received_on": dt.date.today().isoformat(),
    }


def test_the_same_event_twice_is_delivered_once(
    postpaid, admin, receiver, django_capture_on_commit_callbacks
):
    _endpoint(postpaid, admin, receiver.url, events=[WebhookEvent.BALANCE_LOW])
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            kernel.webhook_emit(
                client=postpaid, event_type="balance.low", event_id="evt-x", data={"a": 1}
            )
    assert len(receiver.requests) == 1
    assert WebhookDelivery.objects.count() == 1


def test_a_failure_is_retried_with_exponential_backoff_and_gives_up_after_a_day(
    postpaid, admin, receiver, django_capture_on_commit_callbacks
):
    _endpoint(postpaid, admin, receiver.url, events=[WebhookEvent.BALANCE_LOW])
    receiver.answers = [500] * 100
    with django_capture_on_commit_callbacks(execute=True):
        kernel.webhook_emit(client=postpaid, event_type="balance.low", event_id="e1", data={})
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDelivery.Status.PENDING
    assert delivery.attempts == 1 and delivery.last_response_code == 500
    first_gap = delivery.next_attempt_at - delivery.last_attempt_at
    assert first_gap == dt.timedelta(minutes=1)
    # not due yet: the retry job leaves it
    assert (
        kernel.webhooks_retry(now=delivery.last_attempt_at + dt.timedelta(seconds=30))["due"] == 0
    )
    # each further failure doubles the wait
    moment = delivery.next_attempt_at
    kernel.webhook_deliver(delivery.pk, now=moment)
    delivery.refresh_from_db()
    assert delivery.next_attempt_at - moment == dt.timedelta(minutes=2)
    # keep failing until a day has passed since the event: then it is marked failed
    while delivery.status == WebhookDelivery.Status.PENDING:
        kernel.webhook_deliver(delivery.pk, now=delivery.next_attempt_at)
        delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.FAILED
    assert delivery.last_attempt_at <= delivery.created_at + dt.timedelta(days=1)
    assert delivery.attempts == len(receiver.requests)
    # every attempt carried the same id, so the receiver can drop repeats
    assert {h["webhook-id"] for h, _ in receiver.requests} == {"e1"}


def test_the_retry_job_posts_what_is_due(
    postpaid, admin, receiver, django_capture_on_commit_callbacks
):
    _endpoint(postpaid, admin, receiver.url, events=[WebhookEvent.BALANCE_LOW])
    receiver.answers = [503]
    with django_capture_on_commit_callbacks(execute=True):
        kernel.webhook_emit(client=postpaid, event_type="balance.low", event_id="e2", data={})
    delivery = WebhookDelivery.objects.get()
    result = kernel.webhooks_retry(now=delivery.next_attempt_at + dt.timedelta(seconds=1))
    assert result == {"due": 1, "queued": 1}
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.DELIVERED and delivery.attempts == 2


def test_send_again_posts_a_failed_delivery_under_the_same_id(
    postpaid, admin, receiver, django_capture_on_commit_callbacks
):
    endpoint = _endpoint(postpaid, admin, receiver.url, events=[WebhookEvent.BALANCE_LOW])
    with django_capture_on_commit_callbacks(execute=True):
        kernel.webhook_emit(client=postpaid, event_type="balance.low", event_id="e3", data={})
    delivery = WebhookDelivery.objects.get()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status=WebhookDelivery.Status.FAILED)
    with django_capture_on_commit_callbacks(execute=True):
        services.webhook_delivery_resend(delivery=delivery, acting_user=admin)
    assert [h["webhook-id"] for h, _ in receiver.requests] == ["e3", "e3"]
    _verified(endpoint, receiver.requests[1])
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.DELIVERED


def test_a_rotated_secret_signs_beside_the_previous_one_for_a_day(
    postpaid, admin, receiver, django_capture_on_commit_callbacks
):
    endpoint = _endpoint(postpaid, admin, receiver.url, events=[WebhookEvent.BALANCE_LOW])
    old = endpoint.secret
    new = services.webhook_secret_rotate(endpoint=endpoint, acting_user=admin)
    assert new != old
    with django_capture_on_commit_callbacks(execute=True):
        kernel.webhook_emit(client=postpaid, event_type="balance.low", event_id="e4", data={})
    headers, raw = receiver.requests[0]
    assert len(headers["webhook-signature"].split(" ")) == 2
    Webhook(old).verify(raw, headers)
    Webhook(new).verify(raw, headers)
    endpoint.refresh_from_db()
    assert endpoint.signing_secrets(timezone.now() + dt.timedelta(days=1, seconds=1)) == [new]


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/hook",  # plain http outside the test network
        "https://127.0.0.1/hook",  # loopback
        "https://10.1.2.3/hook",  # private
        "https://169.254.169.254/latest",  # link-local (cloud metadata)
        "ftp://example.com/x",
        "",
    ],
)
def test_an_endpoint_to_a_private_or_plain_http_address_is_refused_naming_the_field(
    settings, postpaid, admin, url
):
    settings.PORTAL_CALLBACKS_ALLOWED_NETWORKS = []
    with pytest.raises(ValidationFailed) as err:
        _endpoint(postpaid, admin, url)
    assert err.value.field == "url"
    assert "endpoint URL" in err.value.message
    assert not WebhookEndpoint.objects.exists()


def test_a_redirect_is_a_failed_delivery(
    postpaid, admin, receiver, django_capture_on_commit_callbacks
):
    _endpoint(postpaid, admin, receiver.url, events=[WebhookEvent.BALANCE_LOW])
    receiver.answers = [302]
    with django_capture_on_commit_callbacks(execute=True):
        kernel.webhook_emit(client=postpaid, event_type="balance.low", event_id="e5", data={})
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == WebhookDelivery.Status.PENDING
    assert "redirects are not followed" in delivery.last_error


def test_unknown_or_no_events_are_refused(postpaid, admin, receiver):
    with pytest.raises(ValidationFailed) as err:
        _endpoint(postpaid, admin, receiver.url, events=["invoice.deleted"])
    assert err.value.field == "events"
    with pytest.raises(ValidationFailed) as err:
        _endpoint(postpaid, admin, receiver.url, events=[])
    assert err.value.field == "events"


def test_only_the_clients_admin_registers_an_endpoint(postpaid, other_admin, receiver):
    viewer = ClientViewerFactory(client=postpaid)
    for user in (viewer, other_admin):
        with pytest.raises(NotAllowed):
            _endpoint(postpaid, user, receiver.url)
    assert not WebhookEndpoint.objects.exists()


def test_terms_published_reach_every_subscribed_client_of_the_provider(
    cm, postpaid, admin, billing_staff, receiver, django_capture_on_commit_callbacks
):
    from accounts.services.terms import terms_publish

    endpoint = _endpoint(postpaid, admin, receiver.url, events=[WebhookEvent.TERMS_PUBLISHED])
    with django_capture_on_commit_callbacks(execute=True):
        terms = terms_publish(
            provider=cm,
            version="9.9",
            summary="New prices",
            acting_user=billing_staff,
            texts={code: f"text {code}" for code in cm.terms_languages},
        )
    body = _verified(endpoint, receiver.requests[0])
    assert body["type"] == "terms.published"
    assert body["data"]["terms_version"] == terms.version


def test_a_notice_that_is_no_event_posts_nothing(
    postpaid, admin, receiver, django_capture_on_commit_callbacks
):
    _endpoint(postpaid, admin, receiver.url, events=list(WebhookEvent.values))
    with django_capture_on_commit_callbacks(execute=True):
        notify(
            key="limit-request:5:submitted",
            recipients=["a@b.test"],
            subject="s",
            body="b",
            client=postpaid,
        )
        notify(key="invitation:7", recipients=["a@b.test"], subject="s", body="b", client=postpaid)
    assert receiver.requests == []


def test_the_pages_register_an_endpoint_and_show_its_log(
    as_user, postpaid, admin, other_admin, receiver, django_capture_on_commit_callbacks
):
    web = as_user(admin)
    response = web.post(
        reverse("webhooks"),
        {"url": receiver.url, "events": ["balance.low", "invoice.issued"], "is_active": "on"},
    )
    endpoint = WebhookEndpoint.objects.get()
    assert response.status_code == 302 and response.url == reverse(
        "webhook_detail", args=[endpoint.pk]
    )
    page = web.get(reverse("webhook_detail", args=[endpoint.pk])).content.decode()
    assert endpoint.secret in page
    with django_capture_on_commit_callbacks(execute=True):
        kernel.webhook_emit(client=postpaid, event_type="balance.low", event_id="evt-p", data={})
    assert "evt-p" in web.get(reverse("webhook_detail", args=[endpoint.pk])).content.decode()
    # another client's admin sees nothing of it
    other = as_user(other_admin)
    assert other.get(reverse("webhook_detail", args=[endpoint.pk])).status_code == 404


def test_the_page_shows_the_url_refusal_on_the_field(as_user, settings, admin):
    settings.PORTAL_CALLBACKS_ALLOWED_NETWORKS = []
    response = as_user(admin).post(
        reverse("webhooks"), {"url": "http://10.0.0.1/x", "events": ["balance.low"]}
    )
    assert response.status_code == 200
    assert response.context["form"].errors["url"]
    assert not WebhookEndpoint.objects.exists()


def test_the_payload_is_json_with_type_timestamp_and_data(
    postpaid, admin, receiver, django_capture_on_commit_callbacks
):
    _endpoint(postpaid, admin, receiver.url, events=[WebhookEvent.BALANCE_LOW])
    with django_capture_on_commit_callbacks(execute=True):
        kernel.webhook_emit(
            client=postpaid, event_type="balance.low", event_id="e6", data={"x": "1"}
        )
    headers, raw = receiver.requests[0]
    assert headers["Content-Type"] == "application/json"
    body = json.loads(raw)
    assert set(body) == {"type", "timestamp", "data"} and body["data"] == {"x": "1"}
