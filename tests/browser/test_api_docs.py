"""The API docs work on a machine without internet (issue 15, section 3): every request to a
host other than the portal is aborted, and Swagger UI still draws the operations, their
examples and the link to the integrator guide."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_the_api_docs_render_offline_with_examples_and_the_integrator_guide(page):
    # given: a browser that may reach nothing but the portal, and nobody signed in
    outside: list[str] = []
    page.route(
        re.compile(r"^https?://(?!localhost[:/]|127\.0\.0\.1[:/]).*"),
        lambda route: (outside.append(route.request.url), route.abort()),
    )
    failed: list[str] = []
    page.on("requestfailed", lambda request: failed.append(request.url))
    # when
    page.goto("/api/docs/")
    # then: the operations are drawn from the schema
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Agreement Portal API")
    expect(page.locator(".opblock").first).to_be_visible()
    # Swagger UI draws the tags that are in view: scroll down to the usage operation
    usage = page.locator("#operations-usage-v1_usage_create")
    for _ in range(200):
        if usage.count():
            break
        page.mouse.wheel(0, 600)
        page.wait_for_timeout(50)
    usage.scroll_into_view_if_needed()
    expect(usage).to_be_visible()
    # the usage operation shows its example of per-record verdicts
    usage.locator(".opblock-summary").click()
    expect(usage.locator(".opblock-description-wrapper").first).to_contain_text(
        "answered on its own"
    )
    expect(usage.locator(".responses-wrapper")).to_contain_text("unknown_client")
    assert outside == [] and failed == []
    # the guide is linked from the docs' introduction, and renders offline too
    link = page.locator(".swagger-ui .info a[href='/api/guide/']")
    expect(link).to_have_text("integrator guide")
    page.goto(link.get_attribute("href"))
    expect(page.get_by_role("heading", name="Integrator guide")).to_be_visible()
    expect(page.get_by_role("heading", name="Idempotency")).to_be_visible()
    assert outside == []
