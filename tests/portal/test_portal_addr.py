"""The address `make run` serves on is `PORTAL_ADDR` (issue 10, §7): bin/run-portal serves it,
`seed_demo` prints it and links in mail default to it; the default lives in portal/env.py."""

import subprocess
import sys
from io import StringIO

import pytest
from django.core.management import call_command

from portal.env import DEFAULT_PORTAL_ADDR
from tests.portal.test_settings import ROOT, _manage


def _seed_demo_output() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_seed_demo_names_the_address_set_in_the_environment(monkeypatch):
    monkeypatch.setenv("PORTAL_ADDR", "0.0.0.0:8123")
    output = _seed_demo_output()
    assert "Sign in at http://0.0.0.0:8123/ " in output
    assert DEFAULT_PORTAL_ADDR not in output


@pytest.mark.django_db
@pytest.mark.parametrize("unset", [None, ""])
def test_seed_demo_names_the_default_address_without_one(monkeypatch, unset):
    if unset is None:
        monkeypatch.delenv("PORTAL_ADDR", raising=False)
    else:
        monkeypatch.setenv("PORTAL_ADDR", unset)
    assert "Sign in at http://127.0.0.1:8000/ " in _seed_demo_output()


@pytest.mark.parametrize(
    ("value", "served"), [("", "127.0.0.1:8000"), ("[::1]:9000", "[::1]:9000")]
)
def test_run_portal_serves_the_address_seed_demo_prints(value, served):
    """bin/run-portal asks portal.env for the address, as seed_demo does."""
    script = (ROOT / "bin" / "run-portal").read_text()
    assert "from portal.env import portal_addr" in script
    assert 'runserver "$ADDR"' in script
    result = subprocess.run(
        [sys.executable, "-c", "from portal.env import portal_addr; print(portal_addr())"],
        cwd=ROOT,
        env={"PORTAL_ADDR": value, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.strip() == served


def test_links_in_mail_default_to_the_served_address(monkeypatch):
    monkeypatch.delenv("PORTAL_BASE_URL", raising=False)
    shown = "from django.conf import settings; print(settings.PORTAL_BASE_URL)"
    result = _manage("shell", "-c", shown, env_overrides={"PORTAL_ADDR": "10.0.0.5:8080"})
    assert result.stdout.strip().splitlines()[-1] == "http://10.0.0.5:8080", result.stderr
