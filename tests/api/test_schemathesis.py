"""Every operation of the API schema, called with generated input by each kind of caller
(issue 10, section 4): no answer is a server error, and every answer matches the schema
(status codes and bodies as documented).

Bounded for the CI budget: `SCHEMATHESIS_EXAMPLES` examples per operation and caller (8 by
default); `SCHEMATHESIS_EXAMPLES=200 make test PYTEST_ARGS=tests/api` is the long run.
"""

import os

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connection
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.models import ApiToken
from accounts.tokens import PREFIX_LEN, hash_key
from portal.wsgi import application
from tests.accounts.factories import (
    AgreementFactory,
    BillingStaffFactory,
    ClientAdminFactory,
    ClientFactory,
    ClientViewerFactory,
    PlatformUserFactory,
)

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "8"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]

# The coverage phase (boundary values of every parameter, unexpected methods) runs in the long
# run only; the CI run generates `EXAMPLES` cases per operation (examples and fuzzing phases).
COVERAGE = os.environ.get("SCHEMATHESIS_COVERAGE", "0") == "1"
schema = schemathesis.openapi.from_dict(
    SchemaGenerator().get_schema(request=None, public=True),
    config=schemathesis.Config.from_dict({"phases": {"coverage": {"enabled": COVERAGE}}}),
)
schema.app = application


def _token(user) -> str:
    """A key for `user` (staff keys are issued after a TOTP check in real use; the check itself
    is tested in tests/accounts/test_tokens.py)."""
    raw = f"schemathesis-{user.pk}-{user.role}"
    ApiToken.objects.create(user=user, prefix=raw[:PREFIX_LEN], key_hash=hash_key(raw))
    return raw


@pytest.fixture(autouse=True)
def _keep_the_test_transaction():
    """Calls go through the WSGI app, whose request signals would close the test's connection
    (it is inside the test's transaction); Django's test Client switches them off the same way."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def callers(db, cm):
    company = ClientFactory(provider=cm)
    AgreementFactory(client=company)
    return {
        "client_admin": ("Token", _token(ClientAdminFactory(client=company))),
        "client_viewer": ("Token", _token(ClientViewerFactory(client=company))),
        "billing_staff": ("Token", _token(BillingStaffFactory())),
        "platform": ("Api-Key", _token(PlatformUserFactory())),
    }


_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@schema.parametrize()
@_SETTINGS
def test_every_operation_as_each_caller(case, callers):
    """Each generated case is sent by the four callers in turn: a client admin, a client
    viewer, billing staff and the messaging platform."""
    for keyword, key in callers.values():
        response = case.call(headers={"Authorization": f"{keyword} {key}"})
        case.validate_response(response, checks=CHECKS)
        # a refused request never leaves the connection in a broken transaction
        assert connection.is_usable()
