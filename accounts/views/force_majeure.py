"""Force majeure (art. 14, 15.5(b)): staff log a situation and see a countdown, in working days,
to each affected client's 10-working-day notice; a client sees the notices it was sent and the
right to terminate each situation opens, never which other clients were affected."""

from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from accounts import selectors
from accounts.forms import (
    ForceMajeureEndForm,
    ForceMajeureForm,
    ForceMajeureNotifyForm,
    as_provider_time,
    call_service,
)
from accounts.kernel.pages import (
    paginate,
    staff_or_client_required,
    staff_required,
)
from accounts.services import force_majeure as services


@staff_or_client_required
def force_majeure_list(request):
    """Staff: the situations of their providers and the form to log one. Clients: their notices
    and the termination rights (art. 15.5(b))."""
    user = request.user
    now = timezone.now()
    if not user.is_provider_staff:
        client = selectors.client_get(user=user, pk=user.client_id)
        notices = selectors.force_majeure_notice_list(user=user).order_by("-pk")  # newest first
        return render(
            request,
            "accounts/force_majeure_notices.html",
            {
                "notices": paginate(request, notices),
                "rights": selectors.force_majeure_termination_rights(client=client, now=now),
            },
        )
    form = ForceMajeureForm(request.POST or None, prefix="fm", user=user)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        clients = list(data.pop("clients"))
        if call_service(
            request,
            lambda: services.force_majeure_log(acting_user=user, affected_clients=clients, **data),
            gettext(
                "Force majeure logged; notify each affected client within 10 working days "
                "(art. 14.2)."
            ),
            form,
        ):
            return redirect("force_majeure_list")
    page = paginate(request, selectors.force_majeure_list(user=user))
    for situation in page:
        situation.right_open = situation.termination_right_open(now)
    return render(
        request,
        "accounts/force_majeure_list.html",
        {"situations": page, "form": form},
        status=400 if form.errors else 200,
    )


def _page(request, situation, bound=None, status=200):
    now = timezone.now()
    notices = list(
        situation.notices.select_related("client", "notified_by", "situation__provider").order_by(
            "deadline", "client__legal_name"
        )
    )
    for notice in notices:
        notice.countdown = selectors.force_majeure_countdown(notice, now)
        notice.form = (bound or {}).get(f"notify_{notice.pk}") or ForceMajeureNotifyForm(
            prefix=f"notify_{notice.pk}"
        )
        notice.action_name = f"notify_{notice.pk}"
    return render(
        request,
        "accounts/force_majeure_detail.html",
        {
            "situation": situation,
            "notices": notices,
            "right_open": situation.termination_right_open(now),
            "end_form": (bound or {}).get("end") or ForceMajeureEndForm(prefix="end"),
            "history": situation.history.select_related("history_user").order_by("-history_date")[
                :30
            ],
            "can_act": situation.ended_at is None,
        },
        status=status,
    )


@staff_required
def force_majeure_detail(request, pk: int):
    return _page(request, selectors.force_majeure_get(user=request.user, pk=pk))


@require_POST
@staff_required
def force_majeure_notify(request, pk: int, notice_pk: int):
    situation = selectors.force_majeure_get(user=request.user, pk=pk)
    notice = selectors.force_majeure_notice_get(
        user=request.user, pk=notice_pk, situation=situation
    )
    prefix = f"notify_{notice.pk}"
    form = ForceMajeureNotifyForm(request.POST, prefix=prefix)
    if form.is_valid() and call_service(
        request,
        lambda: services.force_majeure_notify_client(
            notice=notice, message=form.cleaned_data["message"], acting_user=request.user
        ),
        gettext("%(client)s notified; the notice is recorded (art. 14.2).")
        % {"client": notice.client.legal_name},
        form,
    ):
        return redirect("force_majeure_detail", pk=pk)
    return _page(request, situation, bound={prefix: form}, status=400)


@require_POST
@staff_required
def force_majeure_end(request, pk: int):
    situation = selectors.force_majeure_get(user=request.user, pk=pk)
    form = ForceMajeureEndForm(request.POST, prefix="end")
    if form.is_valid() and call_service(
        request,
        lambda: services.force_majeure_end(
            situation=situation,
            ended_at=as_provider_time(form.cleaned_data["ended_at"], situation.provider.timezone),
            acting_user=request.user,
        ),
        gettext("The end of the situation is recorded."),
        form,
    ):
        return redirect("force_majeure_detail", pk=pk)
    return _page(request, situation, bound={"end": form}, status=400)
