"""OpenDSR status callbacks of data-subject requests: posted on every status change, retried
with back-off, and never into a private network (the URL a client supplies is checked)."""

import datetime as dt
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from accounts.kernel.errors import ValidationFailed
from accounts.models import Notification
from dataprocessing.models import DataSubjectRequest, DsrCallback
from dataprocessing.services import dsrs
from tests.dataprocessing.factories import receive_dsr


class _Recorder(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append((self.path, self.headers["Content-Type"], json.loads(body)))
        self.send_response(self.server.answer)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def callback_server():
    server = HTTPServer(("127.0.0.1", 0), _Recorder)
    server.received = []
    server.answer = 200
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{server.server_address[1]}/dsr/callback"
    yield server
    server.shutdown()
    server.server_close()


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
    client_company, client_admin, django_capture_on_commit_callbacks
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
        ("ftp://example.com/x", "absolute http(s) URL"),
    ],
)
def test_a_callback_to_a_private_or_plain_http_address_is_refused(settings, url, reason):
    settings.PORTAL_CALLBACKS_ALLOW_PRIVATE = False
    assert reason in dsrs.callback_url_error(url)


def test_a_public_ip_over_https_is_allowed(settings):
    settings.PORTAL_CALLBACKS_ALLOW_PRIVATE = False
    assert dsrs.callback_url_error("https://8.8.8.8/dsr-status") is None


@pytest.mark.django_db
def test_receiving_a_dsr_with_a_private_callback_is_refused_naming_the_field(
    settings, client_company, client_admin
):
    settings.PORTAL_CALLBACKS_ALLOW_PRIVATE = False
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
