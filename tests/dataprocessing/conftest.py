"""Fixtures of the data-processing tests: uploads go to a temporary media root."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.accounts.factories import AgreementFactory, ClientAdminFactory, ClientFactory


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def pdf():
    def _pdf(name="file.pdf"):
        return SimpleUploadedFile(name, b"%PDF-1.4 test", content_type="application/pdf")

    return _pdf


@pytest.fixture
def nl_company(cx):
    client = ClientFactory(provider=cx, address="1 Dam, Amsterdam")
    AgreementFactory(client=client)
    return client


@pytest.fixture
def nl_admin(nl_company):
    return ClientAdminFactory(client=nl_company)
