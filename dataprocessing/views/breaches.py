"""Personal-data breaches (art. 21.11): staff log them and see a server-rendered countdown to each
client's 48-hour deadline; a client sees the notices it was sent, never who else was affected."""

from django.contrib.auth.decorators import login_required
from django.db.models.functions import Coalesce
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.kernel.pages import paginate, staff_required
from dataprocessing import selectors
from dataprocessing.forms import BreachForm, BreachNotifyForm, BreachRootCauseForm, BreachUpdateForm
from dataprocessing.services import breaches as services

from ._common import call_service, history, staff_or_client_required


@staff_or_client_required
def breaches(request):
    """Staff: every breach and the form to log one. Clients: their breach notices."""
    user = request.user
    if not user.is_provider_staff:
        # A client's notices are the sent ones; coalesced only because the column may be NULL
        # and a keyset page cannot seek past NULL (accounts.kernel.keyset).
        notices = (
            selectors.breach_notification_list(user=user)
            .annotate(sent_at=Coalesce("notified_at", "deadline"))
            .order_by("-sent_at", "-pk")
        )
        return render(
            request, "dataprocessing/breach_notices.html", {"notices": paginate(request, notices)}
        )
    form = BreachForm(request.POST or None, prefix="breach", user=request.user)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        clients = list(data.pop("clients"))
        if call_service(
            request,
            lambda: services.breach_log(acting_user=user, affected_clients=clients, **data),
            "Breach logged; notify each affected client within 48 hours (art. 21.11).",
            form,
        ):
            return redirect("dataprocessing:breaches")
    open_only = request.GET.get("open", "1") == "1"
    qs = selectors.breach_list(user=user).prefetch_related("notifications")
    if open_only:
        qs = qs.filter(closed_at=None)
    page = paginate(request, qs)
    now = timezone.now()
    for breach in page:
        breach.pending_count = sum(1 for n in breach.notifications.all() if n.notified_at is None)
        breach.next_countdown = selectors.breach_next_countdown(breach, now)
    return render(
        request,
        "dataprocessing/breaches.html",
        {"breaches": page, "form": form, "open_only": open_only},
        status=400 if form.errors else 200,
    )


def _page(request, breach, bound=None, open_action=None, status=200):
    now = timezone.now()
    notifications = list(
        breach.notifications.select_related("client", "notified_by").order_by(
            "deadline", "client__legal_name"
        )
    )
    for notice in notifications:
        notice.countdown = selectors.breach_notice_countdown(notice, now)
        notice.form = (bound or {}).get(f"notify_{notice.pk}") or BreachNotifyForm(
            prefix=f"notify_{notice.pk}"
        )
    return render(
        request,
        "dataprocessing/breach_detail.html",
        {
            "breach": breach,
            "notifications": notifications,
            "updates": breach.updates.select_related("created_by"),
            "update_form": (bound or {}).get("update_form") or BreachUpdateForm(prefix="update"),
            "root_cause_form": (bound or {}).get("root_cause_form")
            or BreachRootCauseForm(prefix="root_cause", initial={"root_cause": breach.root_cause}),
            "history": history(breach),
            "open_action": open_action,
            "can_act": request.user.is_compliance_officer and breach.closed_at is None,
        },
        status=status,
    )


@staff_required
def breach_detail(request, pk: int):
    """One breach with a server-rendered countdown to each client's 48-hour deadline."""
    return _page(request, selectors.breach_get(user=request.user, pk=pk))


@require_POST
@staff_required
def breach_notify(request, pk: int, notification_pk: int):
    breach = selectors.breach_get(user=request.user, pk=pk)
    notification = selectors.breach_notification_get(
        user=request.user, pk=notification_pk, breach=breach
    )
    prefix = f"notify_{notification.pk}"
    form = BreachNotifyForm(request.POST, prefix=prefix)
    if form.is_valid() and call_service(
        request,
        lambda: services.breach_notify_client(
            notification=notification,
            message=form.cleaned_data["message"],
            acting_user=request.user,
        ),
        f"{notification.client.legal_name} notified; the notice is recorded (art. 21.11).",
        form,
    ):
        return redirect("dataprocessing:breach_detail", pk=pk)
    return _page(request, breach, bound={prefix: form}, open_action=prefix, status=400)


@require_POST
@staff_required
def breach_update(request, pk: int):
    breach = selectors.breach_get(user=request.user, pk=pk)
    form = BreachUpdateForm(request.POST, prefix="update")
    if form.is_valid() and call_service(
        request,
        lambda: services.breach_add_update(
            breach=breach, text=form.cleaned_data["text"], acting_user=request.user
        ),
        "Update added; notified clients receive it.",
        form,
    ):
        return redirect("dataprocessing:breach_detail", pk=pk)
    return _page(
        request, breach, bound={"update_form": form}, open_action="update_form", status=400
    )


@require_POST
@staff_required
def breach_root_cause(request, pk: int):
    breach = selectors.breach_get(user=request.user, pk=pk)
    form = BreachRootCauseForm(request.POST, prefix="root_cause")
    if form.is_valid() and call_service(
        request,
        lambda: services.breach_set_root_cause(
            breach=breach, root_cause=form.cleaned_data["root_cause"], acting_user=request.user
        ),
        "Root cause recorded.",
        form,
    ):
        return redirect("dataprocessing:breach_detail", pk=pk)
    return _page(
        request, breach, bound={"root_cause_form": form}, open_action="root_cause_form", status=400
    )


@require_POST
@staff_required
def breach_close(request, pk: int):
    breach = selectors.breach_get(user=request.user, pk=pk)
    call_service(
        request,
        lambda: services.breach_close(breach=breach, acting_user=request.user),
        "Breach closed.",
    )
    return redirect("dataprocessing:breach_detail", pk=pk)


@login_required
def breach_notice_detail(request, pk: int):
    """A client's notice of a breach: what the provider told it, and the follow-ups."""
    notice = selectors.breach_notification_get(user=request.user, pk=pk)
    return render(
        request,
        "dataprocessing/breach_notice_detail.html",
        {"notice": notice, "breach": notice.breach, "updates": notice.breach.updates.all()},
    )
