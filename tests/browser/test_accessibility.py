"""Every role's main pages at a phone's width (390 px) and a laptop's (1366 px) in headless
Chromium (issue 15 §5): axe-core reports no violation of any impact, the page itself never
scrolls sideways (wide tables scroll inside their own focusable region), and the navigation
collapses into a menu on the phone."""

import datetime as dt
from decimal import Decimal

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from accounts.models import Provider
from billing.prepaid.services.wallets import wallet_for_client
from tests.accounts.factories import (
    BillingStaffFactory,
    ClientAdminFactory,
    ComplianceOfficerFactory,
)
from tests.billing.factories import prepaid_client, top_up
from tests.billing.invoicing.factories import company, issued, line
from tests.browser.test_onboarding import sign_in
from tests.conftest import PASSWORD
from tests.dataprocessing.factories import DataSubjectRequestFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

AXE = Axe()
WIDTHS = (390, 1366)


def _check(page, path: str, width: int) -> list[str]:
    """What is wrong with `path` at `width`: axe's violations and a page wider than the screen."""
    page.set_viewport_size({"width": width, "height": 900})
    response = page.goto(path)
    assert response is not None and response.status == 200, (path, response and response.status)
    problems = []
    results = AXE.run(page)
    for v in results.response["violations"]:
        targets = [", ".join(n["target"]) for n in v["nodes"]][:3]
        problems.append(f"{path} @{width}: {v['id']} ({v['impact']}) {targets}")
    overflow = page.evaluate(
        "document.scrollingElement.scrollWidth - document.scrollingElement.clientWidth"
    )
    if width >= 1366:
        # at a laptop's width nothing is cut: no table needs its own scrolling either
        clipped = page.evaluate(
            """() => [...document.querySelectorAll('.table-wrap')]
              .filter(w => w.scrollWidth > w.clientWidth + 1)
              .map(w => (w.closest('[data-testid]') || w).getAttribute('data-testid')
                || w.parentElement.className)"""
        )
        if clipped:
            problems.append(f"{path} @{width}: tables cut: {clipped}")
    if overflow > 0:
        wide = page.evaluate(
            """() => { const w = document.scrollingElement.clientWidth; const out = [];
            for (const el of document.querySelectorAll('body *')) {
              const r = el.getBoundingClientRect();
              if (r.right > w + 1 && !el.closest('.table-wrap') && out.length < 4) {
                out.push(el.tagName.toLowerCase() + (el.className ? '.' + el.className : '')
                  + (el.id ? '#' + el.id : '') + ' ' + Math.round(r.right)); } }
            return out; }"""
        )
        problems.append(f"{path} @{width}: the page scrolls sideways by {overflow}px: {wide}")
    return problems


def _walk(page, paths) -> list[str]:
    problems = []
    for width in WIDTHS:
        for path in paths:
            problems.extend(_check(page, path, width))
    return problems


def _verified_staff(page, staff):
    device = TOTPDevice.objects.create(user=staff, name="phone", confirmed=True)
    sign_in(page, staff.email, PASSWORD)
    page.fill("#id_code", f"{totp(device.bin_key):06d}")
    page.click("button:has-text('Verify')")


def test_a_client_admins_pages_pass_axe_and_fit_a_phone(page):
    cm = Provider.objects.get(code="cm-cn")
    client = prepaid_client(cm, legal_name="Peony Messaging Ltd")
    admin = ClientAdminFactory(client=client, email="admin@peony.example")
    top_up(wallet_for_client(client=client), "120.00", timezone.now() - dt.timedelta(days=3))
    DataSubjectRequestFactory(client=client)
    sign_in(page, admin.email, PASSWORD)
    problems = _walk(
        page,
        [
            "/",
            "/accounts/company/",
            "/accounts/users/",
            "/billing/wallet/",
            "/billing/invoices/",
            "/data-processing/",
            "/accounts/data-requests/",
            "/billing/alerts/",
            "/accounts/webhooks/",
            "/calendar/",
        ],
    )
    assert not problems, "\n".join(problems)


def test_billing_staff_pages_pass_axe_and_fit_a_phone(page):
    cm = Provider.objects.get(code="cm-cn")
    client = company(cm, legal_name="Lily Telecom Ltd")
    staff = BillingStaffFactory(email="billing@provider.example", providers=[cm])
    issued(client, staff, [line("100.00")], invoice_date=timezone.localdate())
    _verified_staff(page, staff)
    problems = _walk(
        page,
        [
            "/",
            "/accounts/clients/",
            f"/accounts/clients/{client.pk}/",
            "/billing/invoices/",
            "/billing/limit-requests/",
            "/billing/statements/",
            "/calendar/",
        ],
    )
    assert not problems, "\n".join(problems)


def test_compliance_pages_pass_axe_and_fit_a_phone(page):
    cm = Provider.objects.get(code="cm-cn")
    client = company(cm, legal_name="Lotus Data Ltd")
    DataSubjectRequestFactory(client=client)
    officer = ComplianceOfficerFactory(email="compliance@provider.example", providers=[cm])
    _verified_staff(page, officer)
    problems = _walk(
        page,
        [
            "/data-processing/",
            "/data-processing/dsrs/",
            "/data-processing/audits/",
            "/data-processing/breaches/",
            "/data-processing/sub-processors/",
        ],
    )
    assert not problems, "\n".join(problems)


def test_the_navigation_collapses_into_a_menu_on_a_phone(page):
    cm = Provider.objects.get(code="cm-cn")
    client = prepaid_client(cm, legal_name="Iris Messaging Ltd")
    admin = ClientAdminFactory(client=client, email="admin@iris.example")
    sign_in(page, admin.email, PASSWORD)
    page.set_viewport_size({"width": 390, "height": 800})
    page.goto("/")
    wallet_link = page.get_by_role("link", name="Wallet & limit")
    expect(wallet_link).to_be_hidden()
    page.get_by_text("Menu", exact=True).click()
    expect(wallet_link).to_be_visible()
    wallet_link.click()
    expect(page).to_have_url(f"{page.url.split('/billing')[0].rstrip('/')}/billing/wallet/")
    page.set_viewport_size({"width": 1366, "height": 800})
    expect(page.get_by_role("link", name="Invoices")).to_be_visible()
    assert Decimal("0") == Decimal("0")
