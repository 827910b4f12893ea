"""The composition root: every app's pages and API, the schema, the admin."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from . import calendar_views, operations, views

api_v1 = [
    path("", include("accounts.api.urls")),
    path("", include("billing.api.urls")),
    path("", include("dataprocessing.api.urls")),
]

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    # The contract's calendar (issue 15 §7)
    path("calendar/", calendar_views.timeline, name="calendar"),
    path("calendar/feed/reset/", calendar_views.feed_reset, name="calendar_feed_reset"),
    path("calendar/feed/revoke/", calendar_views.feed_revoke, name="calendar_feed_revoke"),
    path("calendar/<str:token>.ics", calendar_views.feed, name="calendar_feed"),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("accounts.urls")),
    path("billing/", include("billing.urls")),
    path("data-processing/", include("dataprocessing.urls")),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up script as a file of its own, so the strict
    # Content-Security-Policy (no inline scripts) holds on the docs page too; its assets come
    # from drf-spectacular-sidecar, so the page works without internet.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("api/guide/", views.integrator_guide, name="api-guide"),
    # For load balancers and Prometheus (portal/operations.py): no sign-in, no rate limit.
    path("healthz", operations.healthz, name="healthz"),
    path("readyz", operations.readyz, name="readyz"),
    path("metrics", operations.metrics, name="metrics"),
]

handler404 = "portal.views.not_found"
handler500 = "portal.views.server_error"
