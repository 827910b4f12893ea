"""The data-processing home: the compliance officer's dashboard of open items, or the client's
overview of its audits, DSRs, breach notices and announced sub-processor changes."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from accounts.kernel.pages import paginate
from accounts.selectors import client_get
from dataprocessing import selectors
from dataprocessing.models import DSR_DUE_SOON_DAYS, SubProcessorChange

ITEM_LABELS = {
    "audit": "Audit request",
    "breach_notice": "Breach notice",
    "dsr": "Data-subject request",
    "assistance": "Assistance request",
    "sub_processor_objection": "Sub-processor objection",
}


@login_required
def home(request):
    if request.user.is_provider_staff:
        return _compliance_dashboard(request)
    if not request.user.client_id:
        raise PermissionDenied
    user = request.user
    client = client_get(user=user, pk=user.client_id)
    return render(
        request,
        "dataprocessing/client_home.html",
        {
            "client": client,
            "audits": selectors.audit_request_list(user=user)[:5],
            "dsrs": selectors.dsr_list(user=user, open_only=True)[:5],
            "notices": selectors.breach_notification_list(user=user).order_by("-notified_at")[:5],
            "announced": selectors.sub_processor_change_list(
                user=user, status=SubProcessorChange.Status.ANNOUNCED
            ),
        },
    )


def _item_url(item) -> str:
    obj = item["object"]
    return {
        "audit": lambda: reverse("dataprocessing:audit_detail", args=[obj.pk]),
        "breach_notice": lambda: reverse("dataprocessing:breach_detail", args=[obj.breach_id]),
        "dsr": lambda: reverse("dataprocessing:dsr_detail", args=[obj.pk]),
        "assistance": lambda: reverse("dataprocessing:assistance_detail", args=[obj.pk]),
        "sub_processor_objection": lambda: reverse("dataprocessing:sub_processors") + "#changes",
    }[item["kind"]]()


def _compliance_dashboard(request):
    kind = request.GET.get("kind") or ""
    items = selectors.compliance_open_items(user=request.user, now=timezone.now())
    counts = {k: 0 for k in ITEM_LABELS}
    for item in items:
        counts[item["kind"]] += 1
        item["label"] = ITEM_LABELS[item["kind"]]
        item["url"] = _item_url(item)
    due_soon = sum(1 for item in items if item["due_soon"])
    if kind in ITEM_LABELS:
        items = [item for item in items if item["kind"] == kind]
    return render(
        request,
        "dataprocessing/dashboard.html",
        {
            "items": paginate(request, items, per_page=50),
            "counts": counts,
            "due_soon": due_soon,
            "overdue": sum(1 for item in items if item["overdue"]),
            "kind": kind,
            "kinds": ITEM_LABELS.items(),
            "due_soon_days": DSR_DUE_SOON_DAYS,
        },
    )
