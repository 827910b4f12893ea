"""Pages of data processing (Part II, art. 19–24): the compliance officer's dashboard and queues,
the sub-processor register, breaches with their 48-hour countdown, records of processing (CSV
and PDF); for clients their audits, DSRs, breach notices and the sub-processor list.

Views are thin: forms check the shape, `dataprocessing.services` make every change and refuse
with an ApplicationError shown on the field it names, `dataprocessing.selectors` read. Another
client's id answers 404, never 403.
"""

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.forms import add_service_error
from accounts.kernel.errors import ApplicationError, NotAllowed
from accounts.kernel.pages import paginate, staff_required
from accounts.models import Client, Provider
from accounts.selectors import client_get

from . import selectors, services
from .forms import (
    AssistanceRequestForm,
    AssistanceUpdateForm,
    AuditAgreeForm,
    AuditFilterForm,
    AuditRequestForm,
    BreachForm,
    BreachNotifyForm,
    BreachRootCauseForm,
    BreachUpdateForm,
    DsrActionForm,
    DsrFilterForm,
    DsrForm,
    DsrInstructForm,
    FileForm,
    ObjectionForm,
    OptionalReasonForm,
    ProcessingRecordForm,
    ReasonForm,
    ResolutionForm,
    SubProcessorAnnounceForm,
    SubProcessorForm,
)
from .models import (
    AssistanceRequest,
    AuditRequest,
    BreachNotification,
    DataSubjectRequest,
    SubProcessor,
    SubProcessorChange,
)

DUE_SOON_DAYS = 5


def _call(request, call, success: str, form=None) -> bool:
    """Run a service; its refusal goes on the form's field (or into the messages). True on success."""
    try:
        call()
    except NotAllowed as exc:
        raise PermissionDenied(exc.message) from exc
    except ApplicationError as exc:
        if form is not None:
            add_service_error(form, exc)
        else:
            messages.error(request, exc.message)
        return False
    messages.success(request, success)
    return True


def countdown(deadline: dt.datetime, now: dt.datetime | None = None) -> dict:
    """The time left to a deadline as the page shows it: "31 h 05 min left" or "overdue by …"."""
    now = now or timezone.now()
    seconds = int((deadline - now).total_seconds())
    hours, minutes = divmod(abs(seconds) // 60, 60)
    text = f"{hours} h {minutes:02d} min"
    return {
        "seconds": seconds,
        "hours": seconds / 3600,
        "text": f"{text} left" if seconds >= 0 else f"overdue by {text}",
        "overdue": seconds < 0,
    }


def _history(obj, limit: int = 30):
    return obj.history.select_related("history_user").order_by("-history_date", "-history_id")[
        :limit
    ]


# --- Home: the compliance dashboard, or the client's overview ------------------------------
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
            "dsrs": selectors.dsr_list(user=user).filter(status__in=selectors.DSR_OPEN)[:5],
            "due_soon": set(
                selectors.dsr_due_soon(user=user, days=DUE_SOON_DAYS).values_list("pk", flat=True)
            ),
            "notices": selectors.breach_notification_list(user=user).order_by("-notified_at")[:5],
            "announced": selectors.sub_processor_change_list(
                user=user, status=SubProcessorChange.Status.ANNOUNCED
            ),
        },
    )


ITEM_LABELS = {
    "audit": "Audit request",
    "breach_notice": "Breach notice",
    "dsr": "Data-subject request",
    "assistance": "Assistance request",
    "sub_processor_objection": "Sub-processor objection",
}


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
    now = timezone.now()
    kind = request.GET.get("kind") or ""
    items = selectors.compliance_open_items(now=now)
    counts = {k: 0 for k in ITEM_LABELS}
    due_soon = 0
    for item in items:
        counts[item["kind"]] += 1
        item["label"] = ITEM_LABELS[item["kind"]]
        item["url"] = _item_url(item)
        item["due_soon"] = (
            item["kind"] == "dsr"
            and not item["overdue"]
            and not item.get("paused")
            and item["deadline"] - now <= dt.timedelta(days=DUE_SOON_DAYS)
        )
        due_soon += item["due_soon"]
        if item["kind"] == "breach_notice":
            item["countdown"] = countdown(item["deadline"], now)
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
            "due_soon_days": DUE_SOON_DAYS,
        },
    )


# --- Sub-processors (art. 21.9, 21.10; GDPR 28(2)) -----------------------------------------
def _sub_processors_context(request, **bound):
    user = request.user
    context = {
        "sub_processors": paginate(request, selectors.sub_processor_list(user=user)),
        "changes": paginate(
            request,
            selectors.sub_processor_change_list(user=user).prefetch_related("objections__client"),
            per_page=10,
            param="changes_page",
        ),
        "provider": request.GET.get("provider", ""),
    }
    if user.is_provider_staff:
        provider = context["provider"]
        if provider:
            context["sub_processors"] = paginate(
                request, selectors.sub_processor_list(user=user).filter(provider__code=provider)
            )
        context["register_form"] = bound.get("register_form") or SubProcessorForm(prefix="register")
        context["announce_form"] = bound.get("announce_form") or SubProcessorAnnounceForm(
            prefix="announce"
        )
        context["resolution_form"] = ResolutionForm()
        context["providers"] = Provider.objects.order_by("code")
    else:
        own = set(
            selectors.sub_processor_objection_list(user=user).values_list("change_id", flat=True)
        )
        context["objected"] = own
        context["object_form"] = ObjectionForm()
        context["bound_object_form"] = bound.get("object_form")
        context["bound_change"] = bound.get("change_pk")
    context["open_action"] = bound.get("open_action")
    return context


@login_required
def sub_processors(request):
    """The register (staff) or the provider's current list with announced changes (clients)."""
    if not (request.user.is_provider_staff or request.user.client_id):
        raise PermissionDenied
    return render(request, "dataprocessing/sub_processors.html", _sub_processors_context(request))


@require_POST
@staff_required
def sub_processor_register(request):
    form = SubProcessorForm(request.POST, request.FILES, prefix="register")
    if form.is_valid():
        data = dict(form.cleaned_data)
        if _call(
            request,
            lambda: services.sub_processor_register(acting_user=request.user, **data),
            f"{data['name']} entered in the register.",
            form,
        ):
            return redirect("dataprocessing:sub_processors")
    context = _sub_processors_context(request, register_form=form, open_action="register_form")
    return render(request, "dataprocessing/sub_processors.html", context, status=400)


@require_POST
@staff_required
def sub_processor_announce(request):
    form = SubProcessorAnnounceForm(request.POST, prefix="announce")
    if form.is_valid():
        data = form.cleaned_data
        if _call(
            request,
            lambda: services.sub_processor_change_announce(acting_user=request.user, **data),
            "Change announced; every client's admins are told and may object before it takes effect.",
            form,
        ):
            return redirect("dataprocessing:sub_processors")
    context = _sub_processors_context(request, announce_form=form, open_action="announce_form")
    return render(request, "dataprocessing/sub_processors.html", context, status=400)


@login_required
def sub_processor_detail(request, pk: int):
    """One register entry with its history (who changed what, when)."""
    sub_processor = get_object_or_404(selectors.sub_processor_list(user=request.user), pk=pk)
    form = None
    if request.user.is_compliance_officer:
        form = SubProcessorForm(
            request.POST or None,
            request.FILES or None,
            initial=_sp_initial(sub_processor),
        )
        form.fields.pop("provider")
        if request.method == "POST" and form.is_valid():
            changes = {k: v for k, v in form.cleaned_data.items() if k != "agreement_document" or v}
            if _call(
                request,
                lambda: services.sub_processor_update(
                    sub_processor=sub_processor, acting_user=request.user, **changes
                ),
                "Register entry updated.",
                form,
            ):
                return redirect("dataprocessing:sub_processor_detail", pk=pk)
    elif request.method == "POST":
        raise PermissionDenied
    return render(
        request,
        "dataprocessing/sub_processor_detail.html",
        {"sp": sub_processor, "form": form, "history": _history(sub_processor)},
        status=400 if form is not None and form.errors else 200,
    )


def _sp_initial(sp: SubProcessor) -> dict:
    return {
        field: getattr(sp, field)
        for field in (
            "name",
            "kind",
            "country",
            "services",
            "agreement_date",
            "in_eea",
            "safeguard",
            "active_from",
            "active_to",
        )
    }


@require_POST
@login_required
def sub_processor_object(request, pk: int):
    """A client admin objects to an announced change before it takes effect (GDPR art. 28(2))."""
    change = selectors.sub_processor_change_get(user=request.user, pk=pk)
    if not request.user.client_id:
        raise PermissionDenied
    form = ObjectionForm(request.POST)
    if form.is_valid() and _call(
        request,
        lambda: services.sub_processor_object(
            change=change,
            client=request.user.client,
            acting_user=request.user,
            reason=form.cleaned_data["reason"],
        ),
        "Your objection is recorded; the provider will contact you.",
        form,
    ):
        return redirect("dataprocessing:sub_processors")
    context = _sub_processors_context(request, object_form=form, change_pk=change.pk)
    return render(request, "dataprocessing/sub_processors.html", context, status=400)


@require_POST
@staff_required
def sub_processor_change_withdraw(request, pk: int):
    change = selectors.sub_processor_change_get(user=request.user, pk=pk)
    _call(
        request,
        lambda: services.sub_processor_change_withdraw(change=change, acting_user=request.user),
        "Change withdrawn.",
    )
    return redirect("dataprocessing:sub_processors")


@require_POST
@staff_required
def sub_processor_objection_resolve(request, pk: int):
    objection = get_object_or_404(selectors.sub_processor_objection_list(user=request.user), pk=pk)
    form = ResolutionForm(request.POST)
    if form.is_valid():
        _call(
            request,
            lambda: services.sub_processor_objection_resolve(
                objection=objection,
                acting_user=request.user,
                resolution=form.cleaned_data["resolution"],
            ),
            "Objection resolved; the client is told.",
        )
    else:
        messages.error(request, "Describe how the objection was resolved.")
    return redirect(reverse("dataprocessing:sub_processors") + "#changes")


# --- Audits (art. 21.7) --------------------------------------------------------------------
def _audits_context(request, form=None):
    user = request.user
    filters = AuditFilterForm(request.GET or None, auto_id="filter_%s")
    data = filters.cleaned_data if filters.is_valid() else {}
    qs = selectors.audit_request_list(
        user=user, status=data.get("status") or None, kind=data.get("kind") or None
    )
    can_request = user.is_client_admin or user.is_compliance_officer
    return {
        "audits": paginate(request, qs),
        "filters": filters,
        "form": (form or AuditRequestForm(user=user)) if can_request else None,
    }


@login_required
def audits(request):
    """Audit requests (a queue for staff, the client's own otherwise) and the request form."""
    user = request.user
    if not (user.is_provider_staff or user.client_id):
        raise PermissionDenied
    if request.method == "POST":
        form = AuditRequestForm(request.POST, user=user)
        if form.is_valid():
            data = dict(form.cleaned_data)
            client = data.pop("client", None) or user.client
            client = client_get(user=user, pk=client.pk)
            if _call(
                request,
                lambda: services.audit_request(client=client, acting_user=user, **data),
                "Request recorded; the provider's compliance officers are told (art. 21.7).",
                form,
            ):
                return redirect("dataprocessing:audits")
        return render(
            request, "dataprocessing/audits.html", _audits_context(request, form), status=400
        )
    return render(request, "dataprocessing/audits.html", _audits_context(request))


AUDIT_ACTIONS = {
    "agree": (
        "agree_form",
        AuditAgreeForm,
        "Your agreement on the terms is recorded (art. 21.7.2).",
    ),
    "confidentiality": (
        "confidentiality_form",
        FileForm,
        "Confidentiality declaration uploaded (art. 21.7.3).",
    ),
    "report": ("report_form", FileForm, "Report shared with the provider (art. 21.7.3)."),
    "start": ("start_form", None, "Audit started."),
    "complete": ("complete_form", None, "Request completed."),
    "refuse": ("refuse_form", ReasonForm, "Request refused; the client is told why."),
    "cancel": ("cancel_form", None, "Request withdrawn."),
}


def _audit_service(action, request, audit, data):
    user = request.user
    return {
        "agree": lambda: services.audit_agree(audit=audit, acting_user=user, **data),
        "confidentiality": lambda: services.audit_upload_confidentiality(
            audit=audit, file=data["file"], acting_user=user
        ),
        "report": lambda: services.audit_share_report(
            audit=audit, file=data["file"], acting_user=user
        ),
        "start": lambda: services.audit_start(audit=audit, acting_user=user),
        "complete": lambda: services.audit_complete(audit=audit, acting_user=user),
        "refuse": lambda: services.audit_refuse(
            audit=audit, acting_user=user, reason=data["reason"]
        ),
        "cancel": lambda: services.audit_cancel(audit=audit, acting_user=user),
    }[action]


def _audit_page(request, audit, bound=None, open_action=None, status=200):
    user = request.user
    own_admin = user.is_client_admin and user.client_id == audit.client_id
    compliance = user.is_compliance_officer
    open_states = (AuditRequest.Status.REQUESTED, AuditRequest.Status.AGREED)
    is_audit = audit.kind == AuditRequest.Kind.AUDIT
    may = {
        "agree": is_audit and audit.status in open_states and (own_admin or compliance),
        "confidentiality": is_audit and audit.status in open_states and (own_admin or compliance),
        "start": is_audit and audit.status == AuditRequest.Status.AGREED and compliance,
        "report": audit.status == AuditRequest.Status.IN_PROGRESS and (own_admin or compliance),
        "complete": compliance
        and audit.status
        == (AuditRequest.Status.REPORT_SHARED if is_audit else AuditRequest.Status.REQUESTED),
        "refuse": compliance and audit.status in open_states,
        "cancel": (own_admin or compliance) and audit.status in open_states,
    }
    forms = {}
    for action, (name, form_class, _) in AUDIT_ACTIONS.items():
        if form_class is not None:
            initial = {}
            if action == "agree":
                initial = {
                    "scope": audit.scope,
                    "timing": audit.timing,
                    "duration_days": audit.duration_days,
                    "reimbursement_rate": audit.reimbursement_rate,
                }
            forms[name] = (bound or {}).get(name) or form_class(prefix=action, initial=initial)
    return render(
        request,
        "dataprocessing/audit_detail.html",
        {
            "audit": audit,
            "may": may,
            "history": _history(audit),
            "open_action": open_action,
            **forms,
        },
        status=status,
    )


@login_required
def audit_detail(request, pk: int):
    return _audit_page(request, selectors.audit_request_get(user=request.user, pk=pk))


@require_POST
@login_required
def audit_action(request, pk: int, action: str):
    audit = selectors.audit_request_get(user=request.user, pk=pk)
    if action not in AUDIT_ACTIONS:
        raise Http404
    name, form_class, success = AUDIT_ACTIONS[action]
    form = form_class(request.POST, request.FILES, prefix=action) if form_class else None
    if form is None or form.is_valid():
        data = form.cleaned_data if form else {}
        if (
            _call(request, _audit_service(action, request, audit, data), success, form)
            or form is None
        ):
            return redirect("dataprocessing:audit_detail", pk=pk)
    return _audit_page(request, audit, bound={name: form}, open_action=name, status=400)


# --- Data-subject requests (art. 21.5; GDPR 12(3)) -----------------------------------------
def _dsrs_context(request, form=None):
    user = request.user
    filters = DsrFilterForm(request.GET or None, auto_id="filter_%s")
    data = filters.cleaned_data if filters.is_valid() else {}
    status = data.get("status") or ""
    qs = selectors.dsr_list(user=user, type=data.get("type") or None)
    if status == "":
        qs = qs.filter(status__in=selectors.DSR_OPEN)
    elif status != "all":
        qs = qs.filter(status=status)
    if data.get("due_soon"):
        qs = qs.filter(pk__in=selectors.dsr_due_soon(user=user, days=DUE_SOON_DAYS).values("pk"))
    can_file = user.is_client_admin or user.is_compliance_officer
    return {
        "dsrs": paginate(request, qs),
        "filters": filters,
        "due_soon": set(
            selectors.dsr_due_soon(user=user, days=DUE_SOON_DAYS).values_list("pk", flat=True)
        ),
        "form": (form or DsrForm(user=user)) if can_file else None,
        "now": timezone.now(),
        "due_soon_days": DUE_SOON_DAYS,
    }


@login_required
def dsrs(request):
    """Data-subject requests with their deadline in days; those due within 5 days are highlighted."""
    user = request.user
    if not (user.is_provider_staff or user.client_id):
        raise PermissionDenied
    if request.method == "POST":
        form = DsrForm(request.POST, user=user)
        if form.is_valid():
            data = dict(form.cleaned_data)
            client = client_get(user=user, pk=(data.pop("client", None) or user.client).pk)
            received_by = (
                DataSubjectRequest.ReceivedBy.PROVIDER
                if user.is_provider_staff
                else DataSubjectRequest.ReceivedBy.CLIENT
            )
            if _call(
                request,
                lambda: services.dsr_receive(
                    client=client, acting_user=user, received_by=received_by, **data
                ),
                "Data-subject request logged; it is due one month after receipt (GDPR art. 12(3)).",
                form,
            ):
                return redirect("dataprocessing:dsrs")
        return render(request, "dataprocessing/dsrs.html", _dsrs_context(request, form), status=400)
    return render(request, "dataprocessing/dsrs.html", _dsrs_context(request))


DSR_ACTIONS = {
    "instruct": (
        "instruct_form",
        DsrInstructForm,
        "Instruction recorded; the provider acts on it (art. 21.5.1).",
    ),
    "record-action": ("action_form", DsrActionForm, "Action recorded; the request is completed."),
    "extend": (
        "extend_form",
        ReasonForm,
        "Deadline extended by two months; the client is told why.",
    ),
    "pause": ("pause_form", None, "Paused while the subject's identity is checked."),
    "resume": ("resume_form", None, "Resumed; the deadline moved by the length of the pause."),
    "cancel": ("cancel_form", OptionalReasonForm, "Request cancelled."),
}


def _dsr_service(action, request, dsr, data):
    user = request.user
    return {
        "instruct": lambda: services.dsr_instruct(dsr=dsr, acting_user=user, **data),
        "record-action": lambda: services.dsr_record_action(dsr=dsr, acting_user=user, **data),
        "extend": lambda: services.dsr_extend(dsr=dsr, acting_user=user, reason=data["reason"]),
        "pause": lambda: services.dsr_pause_for_identity(dsr=dsr, acting_user=user),
        "resume": lambda: services.dsr_resume_after_identity(dsr=dsr, acting_user=user),
        "cancel": lambda: services.dsr_cancel(
            dsr=dsr, acting_user=user, reason=data.get("reason", "")
        ),
    }[action]


def _dsr_page(request, dsr, bound=None, open_action=None, status=200):
    user = request.user
    own_admin = user.is_client_admin and user.client_id == dsr.client_id
    compliance = user.is_compliance_officer
    is_open = dsr.status in selectors.DSR_OPEN
    paused = dsr.identity_check_since is not None
    may = {
        "instruct": own_admin and dsr.status == DataSubjectRequest.Status.PENDING,
        "record-action": compliance
        and dsr.status == DataSubjectRequest.Status.IN_PROGRESS
        and not paused,
        "extend": compliance and is_open and not dsr.extended,
        "pause": (own_admin or compliance) and is_open and not paused,
        "resume": (own_admin or compliance) and is_open and paused,
        "cancel": (own_admin or compliance) and is_open,
    }
    forms = {
        name: (bound or {}).get(name) or form_class(prefix=action.replace("-", "_"))
        for action, (name, form_class, _) in DSR_ACTIONS.items()
        if form_class is not None
    }
    now = timezone.now()
    return render(
        request,
        "dataprocessing/dsr_detail.html",
        {
            "dsr": dsr,
            "may": {k.replace("-", "_"): v for k, v in may.items()},
            "history": _history(dsr),
            "open_action": open_action,
            "days_left": (dsr.due_at - now).days,
            "overdue": is_open and not paused and dsr.due_at < now,
            "due_soon": is_open
            and not paused
            and now <= dsr.due_at <= now + dt.timedelta(days=DUE_SOON_DAYS),
            **forms,
        },
        status=status,
    )


@login_required
def dsr_detail(request, pk: int):
    return _dsr_page(request, selectors.dsr_get(user=request.user, pk=pk))


@require_POST
@login_required
def dsr_action(request, pk: int, action: str):
    dsr = selectors.dsr_get(user=request.user, pk=pk)
    if action not in DSR_ACTIONS:
        raise Http404
    name, form_class, success = DSR_ACTIONS[action]
    form = form_class(request.POST, prefix=action.replace("-", "_")) if form_class else None
    if form is None or form.is_valid():
        data = form.cleaned_data if form else {}
        if _call(request, _dsr_service(action, request, dsr, data), success, form) or form is None:
            return redirect("dataprocessing:dsr_detail", pk=pk)
    return _dsr_page(request, dsr, bound={name: form}, open_action=name, status=400)


# --- Breaches (art. 21.11) -----------------------------------------------------------------
@login_required
def breaches(request):
    """Staff: every breach and the form to log one. Clients: their breach notices."""
    user = request.user
    if not user.is_provider_staff:
        if not user.client_id:
            raise PermissionDenied
        notices = selectors.breach_notification_list(user=user).order_by("-notified_at", "-pk")
        return render(
            request, "dataprocessing/breach_notices.html", {"notices": paginate(request, notices)}
        )
    form = BreachForm(request.POST or None, prefix="breach")
    if request.method == "POST":
        if form.is_valid():
            data = dict(form.cleaned_data)
            clients = list(data.pop("clients"))
            if _call(
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
        pending = [n for n in breach.notifications.all() if n.notified_at is None]
        breach.pending_count = len(pending)
        breach.next_countdown = (
            countdown(min(n.deadline for n in pending), now) if pending else None
        )
    return render(
        request,
        "dataprocessing/breaches.html",
        {"breaches": page, "form": form, "open_only": open_only},
        status=400 if form.errors else 200,
    )


def _breach_page(request, breach, bound=None, open_action=None, status=200):
    now = timezone.now()
    notifications = list(
        breach.notifications.select_related("client", "notified_by").order_by(
            "deadline", "client__legal_name"
        )
    )
    for notice in notifications:
        notice.countdown = countdown(notice.deadline, now) if notice.notified_at is None else None
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
            "history": _history(breach),
            "open_action": open_action,
            "can_act": request.user.is_compliance_officer and breach.closed_at is None,
        },
        status=status,
    )


@staff_required
def breach_detail(request, pk: int):
    """One breach with a server-rendered countdown to each client's 48-hour deadline."""
    return _breach_page(request, selectors.breach_get(user=request.user, pk=pk))


@require_POST
@staff_required
def breach_notify(request, pk: int, notification_pk: int):
    breach = selectors.breach_get(user=request.user, pk=pk)
    notification = get_object_or_404(
        BreachNotification.objects.filter(breach=breach), pk=notification_pk
    )
    prefix = f"notify_{notification.pk}"
    form = BreachNotifyForm(request.POST, prefix=prefix)
    if form.is_valid() and _call(
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
    return _breach_page(request, breach, bound={prefix: form}, open_action=prefix, status=400)


@require_POST
@staff_required
def breach_update(request, pk: int):
    breach = selectors.breach_get(user=request.user, pk=pk)
    form = BreachUpdateForm(request.POST, prefix="update")
    if form.is_valid() and _call(
        request,
        lambda: services.breach_add_update(
            breach=breach, text=form.cleaned_data["text"], acting_user=request.user
        ),
        "Update added; notified clients receive it.",
        form,
    ):
        return redirect("dataprocessing:breach_detail", pk=pk)
    return _breach_page(
        request, breach, bound={"update_form": form}, open_action="update_form", status=400
    )


@require_POST
@staff_required
def breach_root_cause(request, pk: int):
    breach = selectors.breach_get(user=request.user, pk=pk)
    form = BreachRootCauseForm(request.POST, prefix="root_cause")
    if form.is_valid() and _call(
        request,
        lambda: services.breach_set_root_cause(
            breach=breach, root_cause=form.cleaned_data["root_cause"], acting_user=request.user
        ),
        "Root cause recorded.",
        form,
    ):
        return redirect("dataprocessing:breach_detail", pk=pk)
    return _breach_page(
        request, breach, bound={"root_cause_form": form}, open_action="root_cause_form", status=400
    )


@require_POST
@staff_required
def breach_close(request, pk: int):
    breach = selectors.breach_get(user=request.user, pk=pk)
    _call(
        request,
        lambda: services.breach_close(breach=breach, acting_user=request.user),
        "Breach closed.",
    )
    return redirect("dataprocessing:breach_detail", pk=pk)


@login_required
def breach_notice_detail(request, pk: int):
    """A client's notice of a breach: what the provider told it, and the follow-ups."""
    notice = get_object_or_404(selectors.breach_notification_list(user=request.user), pk=pk)
    return render(
        request,
        "dataprocessing/breach_notice_detail.html",
        {"notice": notice, "breach": notice.breach, "updates": notice.breach.updates.all()},
    )


# --- Records of processing (art. 21.8, 24) -------------------------------------------------
@login_required
def records(request):
    """Staff: every client with its record; a client user goes to its own record."""
    user = request.user
    if not user.is_provider_staff:
        if not user.client_id:
            raise PermissionDenied
        return redirect("dataprocessing:record_detail", client_pk=user.client_id)
    q = request.GET.get("q", "")
    clients = Client.objects.exclude(status=Client.Status.DELETED).select_related(
        "provider", "processing_record"
    )
    if q:
        clients = clients.filter(legal_name__icontains=q)
    return render(
        request,
        "dataprocessing/records.html",
        {"clients": paginate(request, clients.order_by("legal_name", "pk")), "q": q},
    )


@login_required
def record_detail(request, client_pk: int):
    client = client_get(user=request.user, pk=client_pk)
    record = selectors.processing_record_get(user=request.user, client=client)
    form = None
    if request.user.is_compliance_officer:
        initial = services.processing_record_defaults(client=client) if record is None else None
        form = ProcessingRecordForm(request.POST or None, instance=record, initial=initial)
        if request.method == "POST" and form.is_valid():
            data = {f: form.cleaned_data[f] for f in ProcessingRecordForm.Meta.fields}
            if _call(
                request,
                lambda: services.processing_record_save(
                    client=client, acting_user=request.user, **data
                ),
                "Record of processing saved (art. 21.8).",
                form,
            ):
                return redirect("dataprocessing:record_detail", client_pk=client.pk)
    elif request.method == "POST":
        raise PermissionDenied
    return render(
        request,
        "dataprocessing/record_detail.html",
        {
            "client": client,
            "record": record,
            "rows": selectors.processing_record_export_rows(client=client),
            "form": form,
            "history": _history(record) if record else [],
        },
        status=400 if form is not None and form.errors else 200,
    )


@login_required
def record_csv(request, client_pk: int):
    client = client_get(user=request.user, pk=client_pk)
    response = HttpResponse(
        selectors.processing_record_csv(client=client), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="processing-record-{client.pk}.csv"'
    return response


@login_required
def record_pdf(request, client_pk: int):
    """The record of processing as PDF (WeasyPrint), with a CJK-capable font for Chinese names."""
    from weasyprint import HTML

    client = client_get(user=request.user, pk=client_pk)
    html = render_to_string(
        "dataprocessing/record_pdf.html",
        {
            "client": client,
            "rows": selectors.processing_record_export_rows(client=client),
            "generated_at": timezone.now(),
        },
        request=request,
    )
    pdf = HTML(string=html, base_url=request.build_absolute_uri("/")).write_pdf()
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="processing-record-{client.pk}.pdf"'
    return response


# --- Assistance (art. 21.6) ----------------------------------------------------------------
@login_required
def assistance(request):
    user = request.user
    if not (user.is_provider_staff or user.client_id):
        raise PermissionDenied
    can_request = user.is_client_admin or user.is_compliance_officer
    form = AssistanceRequestForm(request.POST or None, user=user) if can_request else None
    if request.method == "POST":
        if form is None:
            raise PermissionDenied
        if form.is_valid():
            data = dict(form.cleaned_data)
            client = client_get(user=user, pk=(data.pop("client", None) or user.client).pk)
            if _call(
                request,
                lambda: services.assistance_request_log(client=client, acting_user=user, **data),
                "Assistance request logged (art. 21.6).",
                form,
            ):
                return redirect("dataprocessing:assistance")
    status = request.GET.get("status", "")
    qs = selectors.assistance_request_list(user=user, status=status or None)
    return render(
        request,
        "dataprocessing/assistance.html",
        {
            "requests": paginate(request, qs),
            "form": form,
            "status": status,
            "statuses": AssistanceRequest.Status.choices,
        },
        status=400 if form is not None and form.errors else 200,
    )


@login_required
def assistance_detail(request, pk: int):
    assistance_request = selectors.assistance_request_get(user=request.user, pk=pk)
    form = None
    if request.user.is_compliance_officer:
        form = AssistanceUpdateForm(
            request.POST or None,
            initial={"status": assistance_request.status, "outcome": assistance_request.outcome},
        )
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            if _call(
                request,
                lambda: services.assistance_request_update(
                    assistance_request=assistance_request,
                    acting_user=request.user,
                    status=data["status"],
                    outcome=data["outcome"],
                    cost=data["cost"],
                ),
                "Assistance request updated.",
                form,
            ):
                return redirect("dataprocessing:assistance_detail", pk=pk)
    elif request.method == "POST":
        raise PermissionDenied
    return render(
        request,
        "dataprocessing/assistance_detail.html",
        {"ar": assistance_request, "form": form, "history": _history(assistance_request)},
        status=400 if form is not None and form.errors else 200,
    )
