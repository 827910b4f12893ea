"""The Content-Security-Policy holds in a real browser (issue 10, section 5): every page in
each role's navigation, and the API docs (assets served by the portal itself, so the page also
works on a machine without internet), load with no policy violation."""

import re

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from tests.accounts.factories import (
    AgreementFactory,
    BillingStaffFactory,
    ClientAdminFactory,
    ClientFactory,
    ComplianceOfficerFactory,
)
from tests.conftest import PASSWORD

from .test_onboarding import sign_in, sign_out

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

# Collected before any page script runs; an init script is not subject to the page's policy.
_WATCH = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline'));
});
"""


def _visit_navigation(page) -> list[str]:
    """Open every link of the navigation bar; return the violations seen on each page."""
    hrefs = page.eval_on_selector_all(
        "nav a[href^='/']", "links => [...new Set(links.map(a => a.getAttribute('href')))]"
    )
    assert hrefs, "the navigation has links"
    seen = []
    for href in ["/", *hrefs]:
        response = page.goto(href)
        assert response is not None and response.status == 200, href
        assert "content-security-policy" in response.headers, href
        seen += [f"{href}: {v}" for v in page.evaluate("window.__cspViolations")]
    return seen


def _verify_staff(page, user) -> None:
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    sign_in(page, user.email, PASSWORD)
    expect(page).to_have_url(re.compile(r"/accounts/two-factor/"))
    page.fill("#id_code", f"{totp(device.bin_key):06d}")
    page.click("button:has-text('Verify')")
    expect(page).not_to_have_url(re.compile(r"/accounts/two-factor/"))


def test_every_navigation_page_of_each_role_loads_without_a_policy_violation(page, cm):
    page.add_init_script(_WATCH)
    violations = []
    company = ClientFactory(provider=cm)
    AgreementFactory(client=company)
    admin = ClientAdminFactory(client=company)
    sign_in(page, admin.email, PASSWORD)
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    violations += _visit_navigation(page)
    sign_out(page)
    for staff in (BillingStaffFactory(), ComplianceOfficerFactory()):
        _verify_staff(page, staff)
        violations += _visit_navigation(page)
        sign_out(page)
    assert violations == []


def test_the_api_docs_render_from_the_portals_own_assets_under_the_policy(page, client_admin):
    # given: a browser that may reach nothing but the portal
    page.add_init_script(_WATCH)
    outside: list[str] = []
    page.route(
        re.compile(r"^https?://(?!localhost|127\.0\.0\.1).*"),
        lambda route: (outside.append(route.request.url), route.abort()),
    )
    sign_in(page, client_admin.email, PASSWORD)
    # when
    page.goto("/api/docs/")
    # then: Swagger UI drew the schema's title and operations, with nothing fetched elsewhere
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Agreement Portal API")
    expect(page.locator(".opblock").first).to_be_visible()
    assert outside == []
    assert page.evaluate("window.__cspViolations") == []
