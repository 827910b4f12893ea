"""OpenDSR status callbacks of data-subject requests: posted on every status change by a Celery
task after commit, signed (Standard Webhooks), retried with back-off, and never into a private
network: the host is resolved once, the connection goes to the checked address, redirects are
not followed."""

import datetime as dt
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from accounts.kernel.errors import NotAllowed, ValidationFailed
from accounts.models import Notification
from dataprocessing.models import DataSubjectRequest, DsrCallback
from dataprocessing.services import dsrs
from tests.dataprocessing.factories import receive_dsr


class _Recorder(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - what a followed redirect would become
        self.server.hits.append("GET")
        self.send_response(200)
        self.end_headers()

    def do_POST(self):  # noqa: N802
        self.server.hits.append("POST")
        raw = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append((self.path, self.headers["Content-Type"], json.loads(raw)))
        self.server.requests.append((dict(self.headers), raw))
        self.send_response(self.server.answer)
        if self.server.location:
            self.send_header("Location", self.server.location)
        self.end_headers()

    def log_message(self, *args):
        pass


def _serve():
    server = HTTPServer(("127.0.0.1", 0), _Recorder)
    server.received = []
    server.requests = []
    server.hits = []
    server.answer = 200
    server.location = ""
    threading.Thread(target=server.serve_forever, daemon=True).start()
    server.port = server.server_address[1]
    server.url = f"http://127.0.0.1:{server.port}/dsr/callback"
    return server


@pytest.fixture
def test_network(settings):
    """Only the loopback address the test servers listen on is exempt from the public-address
    rule (and may be called over plain http); production exempts nothing."""
    settings.PORTAL_CALLBACKS_ALLOWED_NETWORKS = ["127.0.0.1/32"]


@pytest.fixture
def callback_server(test_network):
    server = _serve()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def second_server(test_network):
    server = _serve()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def fake_dns(monkeypatch):
    """`fake_dns(name, *answers)`: `name` resolves to each answer in turn (the last one repeats);
    every other name resolves as usual. Returns the list of lookups of `name`."""
    real = socket.getaddrinfo
    lookups: list[str] = []

    def install(name, *answers):
        def getaddrinfo(host, port, *args, **kwargs):
            if host != name:
                return real(host, port, *args, **kwargs)
            address = answers[min(len(lookups), len(answers) - 1)]
            lookups.append(address)
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
        return lookups

    return install


def _cancelled_with_callback(client, user, url, django_capture_on_commit_callbacks):
    dsr = receive_dsr(client, user, received_by="client", status_callback_url=url)
    with django_capture_on_commit_callbacks(execute=True):
        dsrs.dsr_cancel(dsr=dsr, acting_user=user)
    return DsrCallback.objects.get(request=dsr)


def test_every_status_change_is_posted_to_the_status_callback_url(
    client_company,
    client_admin,
    compliance_officer,
    callback_server,
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        dsr = receive_dsr(
            client_company,
            client_admin,
            received_by="client",
            status_callback_url=callback_server.url,
        )
    with django_capture_on_commit_callbacks(execute=True):
        dsrs.dsr_instruct(dsr=dsr, instruction="delete", acting_user=client_admin)
    with django_capture_on_commit_callbacks(execute=True):
        dsrs.dsr_record_action(dsr=dsr, action_taken="deleted", acting_user=compliance_officer)
    statuses = [body["request_status"] for _, _, body in callback_server.received]
    assert statuses == ["in_progress", "completed"]
    path, content_type, body = callback_server.received[-1]
    assert path == "/dsr/callback" and content_type == "application/json"
    assert body["request_id"] == str(dsr.request_id)
    assert body["status_callback_url"] == callback_server.url
    assert body["expected_completion_time"] == dsr.due_at.astimezone(dt.UTC).isoformat()
    assert body["received_time"] == dsr.received_at.astimezone(dt.UTC).isoformat()
    calls = list(DsrCallback.objects.filter(request=dsr).order_by("pk"))
    assert [(c.status, c.delivered, c.response_code, c.attempts) for c in calls] == [
        ("in_progress", True, 200, 1),
        ("completed", True, 200, 1),
    ]


def test_a_failed_callback_is_recorded_and_posted_again_by_the_retry_job(
    client_company, client_admin, callback_server, django_capture_on_commit_callbacks
):
    callback_server.answer = 503
    dsr = receive_dsr(
        client_company, client_admin, received_by="client", status_callback_url=callback_server.url
    )
    with django_capture_on_commit_callbacks(execute=True):
        dsrs.dsr_cancel(dsr=dsr, acting_user=client_admin)
    callback = DsrCallback.objects.get(request=dsr)
    assert (callback.delivered, callback.response_code, callback.attempts) == (False, 503, 1)
    assert callback.error == "HTTP 503"
    callback_server.answer = 200
    # within the back-off nothing is retried
    assert dsrs.dsr_callbacks_retry(now=callback.attempted_at)["delivered"] == 0
    later = callback.attempted_at + dt.timedelta(minutes=3)
    assert dsrs.dsr_callbacks_retry(now=later) == {"delivered": 1, "failed": 0, "superseded": 0}
    assert dsrs.dsr_callbacks_retry(now=later + dt.timedelta(hours=1)) == {
        "delivered": 0,
        "failed": 0,
        "superseded": 0,
    }
    callback.refresh_from_db()
    assert (callback.delivered, callback.attempts) == (True, 2)
    assert [body["request_status"] for _, _, body in callback_server.received] == [
        "cancelled",
        "cancelled",
    ]


def test_an_unreachable_callback_url_does_not_undo_the_change(
    test_network, client_company, client_admin, django_capture_on_commit_callbacks
):
    dsr = receive_dsr(
        client_company,
        client_admin,
        received_by="client",
        status_callback_url="http://127.0.0.1:9/nowhere",
    )
    with django_capture_on_commit_callbacks(execute=True):
        dsrs.dsr_cancel(dsr=dsr, acting_user=client_admin)
    dsr.refresh_from_db()
    assert dsr.status == "cancelled"
    callback = DsrCallback.objects.get(request=dsr)
    assert not callback.delivered and callback.error


def test_a_request_without_callback_url_records_no_callback(client_company, client_admin):
    dsr = receive_dsr(client_company, client_admin, received_by="client")
    dsrs.dsr_cancel(dsr=dsr, acting_user=client_admin)
    assert not DsrCallback.objects.exists()
    assert Notification.objects.filter(key=f"dsr-filed:{dsr.pk}").exists()


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://example.com/dsr", "must use https"),
        ("https://127.0.0.1/dsr", "public address"),
        ("https://10.0.0.8/dsr", "public address"),
        ("https://169.254.169.254/latest/meta-data", "public address"),
        ("https://[::1]/dsr", "public address"),
        ("https://[::ffff:127.0.0.1]/dsr", "public address"),
        ("https://224.0.0.1/dsr", "public address"),
        ("https://100.64.0.1/dsr", "public address"),
        ("https://0.0.0.0/dsr", "public address"),
        ("https://240.0.0.1/dsr", "public address"),
        ("ftp://example.com/x", "absolute http(s) URL"),
    ],
)
def test_a_callback_to_a_private_or_plain_http_address_is_refused(settings, url, reason):
    settings.PORTAL_CALLBACKS_ALLOWED_NETWORKS = []
    assert reason in dsrs.callback_url_error(url)


def test_a_public_ip_over_https_is_allowed(settings):
    settings.PORTAL_CALLBACKS_ALLOWED_NETWORKS = []
    assert dsrs.callback_url_error("https://8.8.8.8/dsr-status") is None


def test_plain_http_is_refused_even_to_a_public_address_when_networks_are_allowed(
    settings, fake_dns
):
    settings.PORTAL_CALLBACKS_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    fake_dns("public.test", "8.8.8.8")
    assert "must use https" in dsrs.callback_url_error("http://public.test/dsr")


@pytest.mark.django_db
def test_receiving_a_dsr_with_a_private_callback_is_refused_naming_the_field(
    settings, client_company, client_admin
):
    settings.PORTAL_CALLBACKS_ALLOWED_NETWORKS = []
    with pytest.raises(ValidationFailed) as refused:
        dsrs.dsr_receive(
            client=client_company,
            type="access",
            received_by="client",
            subject_reference="+8613800000000",
            acting_user=client_admin,
            status_callback_url="https://192.168.1.10/cb",
        )
    assert "status_callback_url" in refused.value.errors
    assert not DataSubjectRequest.objects.exists()


@pytest.mark.django_db
def test_a_name_that_resolves_to_a_private_address_is_refused(
    settings, fake_dns, client_company, client_admin
):
    settings.PORTAL_CALLBACKS_ALLOWED_NETWORKS = []
    fake_dns("internal.test", "10.1.2.3")
    assert "public address" in dsrs.callback_url_error("https://internal.test/cb")
    with pytest.raises(ValidationFailed) as refused:
        receive_dsr(
            client_company,
            client_admin,
            received_by="client",
            status_callback_url="https://internal.test/cb",
        )
    assert "public address" in refused.value.errors["status_callback_url"][0]


def test_a_name_that_resolves_to_a_private_address_at_delivery_gets_nothing(
    settings,
    fake_dns,
    callback_server,
    client_company,
    client_admin,
    django_capture_on_commit_callbacks,
):
    # given a callback URL whose name resolved to a public address when the request was filed
    lookups = fake_dns("rebind.test", "8.8.8.8", "127.0.0.1")
    url = f"https://rebind.test:{callback_server.port}/cb"
    dsr = receive_dsr(client_company, client_admin, received_by="client", status_callback_url=url)
    # when the name points at the portal's own network by the time the callback is posted
    settings.PORTAL_CALLBACKS_ALLOWED_NETWORKS = []
    with django_capture_on_commit_callbacks(execute=True):
        dsrs.dsr_cancel(dsr=dsr, acting_user=client_admin)
    # then nothing is sent there, and the refusal is recorded
    callback = DsrCallback.objects.get(request=dsr)
    assert lookups == ["8.8.8.8", "127.0.0.1"]
    assert not callback.delivered and "public address" in callback.error
    assert callback_server.received == []


def test_the_connection_goes_to_the_address_resolved_once(
    fake_dns, callback_server, client_company, client_admin, django_capture_on_commit_callbacks
):
    # given a receiver whose name answers the test server's address on the first lookup and
    # another address (where nothing listens) on every later one: a rebinding DNS server
    lookups = fake_dns("rebind.test", "127.0.0.1", "127.0.0.2")
    url = f"http://rebind.test:{callback_server.port}/cb"
    dsr = receive_dsr(client_company, client_admin, received_by="client")
    # (set after receipt, so the lookup counted is the delivery's own)
    DataSubjectRequest.objects.filter(pk=dsr.pk).update(status_callback_url=url)
    dsr.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        dsrs.dsr_cancel(dsr=dsr, acting_user=client_admin)
    # then the one lookup made at delivery decides both the check and the connection
    callback = DsrCallback.objects.get(request=dsr)
    assert lookups == ["127.0.0.1"]
    assert callback.delivered, callback.error
    headers, _ = callback_server.requests[0]
    assert headers["Host"] == f"rebind.test:{callback_server.port}"


def test_a_redirect_is_not_followed(
    callback_server,
    second_server,
    client_company,
    client_admin,
    django_capture_on_commit_callbacks,
):
    callback_server.answer = 303
    callback_server.location = second_server.url
    callback = _cancelled_with_callback(
        client_company, client_admin, callback_server.url, django_capture_on_commit_callbacks
    )
    assert callback_server.hits == ["POST"]
    assert second_server.hits == []
    assert (callback.delivered, callback.response_code) == (False, 303)
    assert "redirect" in callback.error


def test_a_receiver_that_does_not_answer_times_out(
    settings, test_network, client_company, client_admin, django_capture_on_commit_callbacks
):
    settings.DSR_CALLBACK_TIMEOUT_SECONDS = 0.5
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)  # accepts the connection, never answers
    try:
        started = dt.datetime.now()
        callback = _cancelled_with_callback(
            client_company,
            client_admin,
            f"http://127.0.0.1:{silent.getsockname()[1]}/cb",
            django_capture_on_commit_callbacks,
        )
        elapsed = (dt.datetime.now() - started).total_seconds()
    finally:
        silent.close()
    assert not callback.delivered and "timed out" in callback.error.lower()
    assert elapsed < 5


def test_each_callback_is_signed_so_the_receiver_can_verify_it(
    callback_server, client_company, client_admin, django_capture_on_commit_callbacks
):
    callback = _cancelled_with_callback(
        client_company, client_admin, callback_server.url, django_capture_on_commit_callbacks
    )
    headers, raw = callback_server.requests[0]
    payload = Webhook(client_company.callback_secret).verify(raw, headers)
    assert payload["request_status"] == "cancelled"
    assert headers["webhook-id"] == f"dsr-callback-{callback.pk}"
    # a body changed on the way, or another client's secret, does not verify
    with pytest.raises(WebhookVerificationError):
        Webhook(client_company.callback_secret).verify(
            raw.replace(b"cancelled", b"completed"), headers
        )
    other = dsrs.callback_secret_new()
    with pytest.raises(WebhookVerificationError):
        Webhook(other).verify(raw, headers)


def test_a_retry_carries_the_same_id_so_the_receiver_can_drop_a_repeat(
    callback_server, client_company, client_admin, django_capture_on_commit_callbacks
):
    callback_server.answer = 503
    callback = _cancelled_with_callback(
        client_company, client_admin, callback_server.url, django_capture_on_commit_callbacks
    )
    callback_server.answer = 200
    dsrs.dsr_callbacks_retry(now=callback.attempted_at + dt.timedelta(minutes=3))
    ids = [headers["webhook-id"] for headers, _ in callback_server.requests]
    assert ids == [f"dsr-callback-{callback.pk}"] * 2


@pytest.mark.django_db
def test_every_client_has_its_own_secret_from_creation(client_company, other_company):
    assert client_company.callback_secret.startswith("whsec_")
    assert client_company.callback_secret != other_company.callback_secret
    Webhook(client_company.callback_secret)  # a valid Standard Webhooks secret


def test_the_client_admin_rotates_the_secret_and_the_old_one_stops_verifying(
    callback_server, client_company, client_admin, django_capture_on_commit_callbacks
):
    old = client_company.callback_secret
    new = dsrs.dsr_callback_secret_rotate(client=client_company, acting_user=client_admin)
    client_company.refresh_from_db()
    assert client_company.callback_secret == new != old
    _cancelled_with_callback(
        client_company, client_admin, callback_server.url, django_capture_on_commit_callbacks
    )
    headers, raw = callback_server.requests[0]
    Webhook(new).verify(raw, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(raw, headers)


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["client_viewer", "other_admin", "compliance_officer"])
def test_only_the_clients_own_admin_rotates_its_secret(request, client_company, who):
    before = client_company.callback_secret
    with pytest.raises(NotAllowed):
        dsrs.dsr_callback_secret_rotate(
            client=client_company, acting_user=request.getfixturevalue(who)
        )
    client_company.refresh_from_db()
    assert client_company.callback_secret == before


def test_the_callback_is_posted_by_a_task_not_inside_the_request(
    monkeypatch, callback_server, client_company, client_admin, django_capture_on_commit_callbacks
):
    from dataprocessing import tasks

    queued = []
    monkeypatch.setattr(
        tasks.dsr_callback_send, "apply_async", lambda args, **kw: queued.append(args)
    )
    callback = _cancelled_with_callback(
        client_company, client_admin, callback_server.url, django_capture_on_commit_callbacks
    )
    assert queued == [(callback.pk,)]
    assert callback_server.received == [] and callback.attempts == 0
