"""Pages of accounts: sign-in and two-factor, onboarding, the client's company, users and data
requests, and the staff's client list and client detail.

Views are thin: forms check the shape, services (accounts.services) make every change and
refuse with an ApplicationError that is shown on the field it names, selectors read. Another
client's id answers 404 (selectors.client_get / scoped_get), never 403.
"""

from functools import wraps
from urllib.parse import urlencode

import django_otp
import qrcode
import qrcode.image.svg
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from . import selectors, services
from .forms import (
    ChangeRequestForm,
    ClientFilterForm,
    DataRequestAnswerForm,
    DataRequestLogForm,
    DecisionNoteForm,
    DefaultNoticeForm,
    DirectorFormSet,
    EmailAuthenticationForm,
    InvitationAcceptForm,
    InviteUserForm,
    OnboardingInviteForm,
    OptionalReasonForm,
    ReasonForm,
    RoleForm,
    SignUpForm,
    SuspendForm,
    TerminateForm,
    TermsPublishForm,
    TOTPCodeForm,
    add_service_error,
    directors_from,
)
from .kernel.errors import ApplicationError, NotAllowed
from .kernel.pages import paginate, staff_required
from .models import Agreement, ChangeRequest, DataRequest, Invitation, TermsAcceptance, User

# The registration details shown in the field history (art. 5.5); bookkeeping columns are left out.
HISTORY_FIELDS = {*services.COMPANY_FIELDS, "billing_mode", "status", "rejection_reason"}


def registration_history(client) -> list[dict]:
    """Newest first: every change of a registration field, who made it and when."""
    return [
        h for h in reversed(selectors.field_history(client=client)) if h["field"] in HISTORY_FIELDS
    ]


_MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def _safe_next(request, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def client_user_required(view):
    """A page of the signed-in client user's own company; staff go to their dashboard."""

    @wraps(view)
    @login_required
    def wrapper(request, *args, **kwargs):
        if not request.user.client_id:
            return redirect("dashboard")
        return view(request, *args, **kwargs)

    return wrapper


# --- Sign-in, two-factor, password reset ---------------------------------------------------
class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = EmailAuthenticationForm
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    pass


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "accounts/password_reset_form.html"
    email_template_name = "accounts/password_reset_email.txt"
    subject_template_name = "accounts/password_reset_subject.txt"
    success_url = reverse_lazy("password_reset_done")


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("password_reset_complete")


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"


def _qr_svg(uri: str) -> str:
    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    svg = image.to_string(encoding="unicode")
    # Drop the XML declaration so the SVG can sit inline in the page.
    return svg[svg.index("<svg") :]


@login_required
def two_factor(request):
    """Staff prove a second factor (TOTP) before anything else; enrol first if they have no device."""
    user = request.user
    next_url = _safe_next(request, reverse("dashboard"))
    if not (user.is_provider_staff or user.is_staff) or user.is_verified():
        return redirect(next_url)
    from django_otp.plugins.otp_totp.models import TOTPDevice

    enrolling = not TOTPDevice.objects.filter(user=user, confirmed=True).exists()
    form = TOTPCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = services.totp_verify(user=user, token=form.cleaned_data["code"])
        if device is not None:
            django_otp.login(request, device)
            messages.success(request, "Two-factor check passed.")
            return redirect(next_url)
        form.add_error(
            "code", "That code is not valid. Codes change every 30 seconds; try the current one."
        )
    context = {"form": form, "enrolling": enrolling, "next": next_url}
    if enrolling:
        device = services.totp_device_for_enrolment(user=user)
        context["qr_svg"] = _qr_svg(device.config_url)
        secret = device.config_url.split("secret=")[1].split("&")[0]
        context["secret"] = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
    return render(request, "accounts/two_factor.html", context)


# --- Onboarding ----------------------------------------------------------------------------
def _sign_up(request, invitation: Invitation | None = None, token: str | None = None):
    form = SignUpForm(request.POST or None, invitation=invitation)
    formset = DirectorFormSet(request.POST or None, prefix="directors")
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        data = form.cleaned_data
        company = {
            field: data.get(field, "")
            for field in (
                "legal_name",
                "address",
                "country",
                "registration_number",
                "vat_number",
                "billing_email",
            )
        }
        company["directors"] = directors_from(formset)
        try:
            user = services.client_sign_up(
                provider=data["provider"],
                email=data["email"],
                password=data["password1"],
                full_name=data["full_name"],
                company=company,
                billing_mode=data["billing_mode"],
                invitation=invitation,
            )
        except ApplicationError as exc:
            add_service_error(form, exc, field_map={"password": "password1"}, formset=formset)
        else:
            auth_login(request, user, backend=_MODEL_BACKEND)
            messages.success(
                request, "Your company is registered. Billing staff will review it shortly."
            )
            return redirect("dashboard")
    return render(
        request,
        "accounts/sign_up.html",
        {"form": form, "formset": formset, "invitation": invitation, "token": token},
    )


def sign_up(request):
    if request.user.is_authenticated:
        return redirect("dashboard")
    return _sign_up(request)


def invitation(request, token: str):
    """An employee invitation sets a password and joins; an onboarding one opens the sign-up form."""
    if request.user.is_authenticated:
        messages.info(request, "Sign out first to accept an invitation for another account.")
        return redirect("dashboard")
    try:
        invite = services.invitation_for_token(token)
    except ApplicationError as exc:
        return render(
            request, "accounts/invitation_invalid.html", {"message": exc.message}, status=404
        )
    if invite.client_id is None:
        return _sign_up(request, invitation=invite, token=token)
    form = InvitationAcceptForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.invitation_accept(
                raw_token=token,
                full_name=form.cleaned_data["full_name"],
                password=form.cleaned_data["password1"],
            )
        except ApplicationError as exc:
            add_service_error(form, exc, field_map={"password": "password1"})
        else:
            auth_login(request, user, backend=_MODEL_BACKEND)
            messages.success(request, f"Welcome to {user.client.legal_name}.")
            return redirect("dashboard")
    return render(request, "accounts/invitation_accept.html", {"form": form, "invitation": invite})


# --- The client's company (art. 5.5) -------------------------------------------------------
def _company_initial(client) -> dict:
    return {
        "legal_name": client.legal_name,
        "address": client.address,
        "country": client.country,
        "registration_number": client.registration_number,
        "vat_number": client.vat_number,
        "billing_email": client.billing_email,
    }


@client_user_required
def company(request):
    client = selectors.client_get(user=request.user, pk=request.user.client_id)
    directors = list(client.directors.all())
    form = formset = None
    if request.user.is_client_admin:
        if request.method == "POST":
            form = ChangeRequestForm(request.POST)
            formset = DirectorFormSet(request.POST, prefix="directors")
            if form.is_valid() and formset.is_valid():
                changes = dict(form.cleaned_data)
                changes["directors"] = directors_from(formset)
                try:
                    services.change_request_submit(
                        client=client, acting_user=request.user, changes=changes
                    )
                except NotAllowed as exc:
                    raise PermissionDenied(exc.message) from exc
                except ApplicationError as exc:
                    add_service_error(form, exc, formset=formset)
                else:
                    messages.success(
                        request, "Change request submitted; staff will review it (art. 5.5)."
                    )
                    return redirect("company")
        else:
            form = ChangeRequestForm(initial=_company_initial(client))
            formset = DirectorFormSet(
                prefix="directors", initial=[{"name": d.name, "title": d.title} for d in directors]
            )
    elif request.method == "POST":
        raise PermissionDenied
    change_requests = paginate(
        request, selectors.change_request_list(user=request.user), per_page=10
    )
    history_page = Paginator(registration_history(client), 20).get_page(
        request.GET.get("history_page")
    )
    return render(
        request,
        "accounts/company.html",
        {
            "client": client,
            "directors": directors,
            "form": form,
            "formset": formset,
            "change_requests": change_requests,
            "history": history_page,
        },
    )


# --- Users (art. 5.2) ----------------------------------------------------------------------
def _users_context(request, client, invite_form=None):
    return {
        "client": client,
        "users": paginate(request, selectors.client_users(client=client)),
        "invite_form": invite_form or InviteUserForm(),
        "role_choices": RoleForm.base_fields["role"].choices,
        "invitations": Invitation.objects.filter(client=client, accepted_at=None).order_by(
            "-created_at"
        )[:20],
    }


@client_user_required
def users(request):
    client = selectors.client_get(user=request.user, pk=request.user.client_id)
    return render(request, "accounts/users.html", _users_context(request, client))


@require_POST
@client_user_required
def user_invite(request):
    client = selectors.client_get(user=request.user, pk=request.user.client_id)
    form = InviteUserForm(request.POST)
    if form.is_valid():
        try:
            services.user_invite(client=client, acting_user=request.user, **form.cleaned_data)
        except NotAllowed as exc:
            raise PermissionDenied(exc.message) from exc
        except ApplicationError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, f"Invitation sent to {form.cleaned_data['email']}.")
            return redirect("users")
    return render(
        request,
        "accounts/users.html",
        _users_context(request, client, invite_form=form),
        status=400,
    )


def _client_member(request, pk) -> User:
    return selectors.scoped_get(User.objects.filter(client__isnull=False), user=request.user, pk=pk)


@require_POST
@login_required
def user_change_role(request, pk: int):
    member = _client_member(request, pk)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a role.")
    else:
        try:
            services.user_change_role(
                user=member, role=form.cleaned_data["role"], acting_user=request.user
            )
        except NotAllowed as exc:
            raise PermissionDenied(exc.message) from exc
        except ApplicationError as exc:
            messages.error(request, f"{member.email}: {exc.message}")
        else:
            messages.success(request, f"{member.email} is now {member.get_role_display().lower()}.")
    return redirect(_safe_next(request, reverse("users")))


@require_POST
@login_required
def user_remove(request, pk: int):
    member = _client_member(request, pk)
    try:
        services.user_remove(user=member, acting_user=request.user)
    except NotAllowed as exc:
        raise PermissionDenied(exc.message) from exc
    except ApplicationError as exc:
        messages.error(request, f"{member.email}: {exc.message}")
    else:
        messages.success(request, f"{member.email} can no longer sign in.")
    return redirect(_safe_next(request, reverse("users")))


# --- Data requests (art. 5.6) --------------------------------------------------------------
@login_required
def data_requests(request):
    """The client's data requests with their deadlines; for staff, every client's, overdue first."""
    status = request.GET.get("status") or None
    overdue = request.GET.get("overdue") == "1"
    qs = selectors.data_request_list(
        user=request.user, status=status, overdue=overdue
    ).select_related("client__provider")
    return render(
        request,
        "accounts/data_requests.html",
        {
            "requests": paginate(request, qs),
            "status": status or "",
            "overdue": overdue,
            "statuses": DataRequest.Status.choices,
        },
    )


@login_required
def data_request_detail(request, pk: int):
    data_request = selectors.scoped_get(
        DataRequest.objects.select_related("client__provider", "answered_by", "logged_by"),
        user=request.user,
        pk=pk,
    )
    form = DataRequestAnswerForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.data_request_answer(
                data_request=data_request,
                acting_user=request.user,
                answer=form.cleaned_data["answer"],
            )
        except NotAllowed as exc:
            raise PermissionDenied(exc.message) from exc
        except ApplicationError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, "Answer recorded.")
            return redirect("data_requests")
    can_answer = (
        data_request.status == DataRequest.Status.OPEN
        and request.user.is_client_admin
        and request.user.client_id == data_request.client_id
    )
    return render(
        request,
        "accounts/data_request_detail.html",
        {"dr": data_request, "form": form, "can_answer": can_answer},
    )


# --- Terms (art. 18.3) ---------------------------------------------------------------------
@require_POST
@login_required
def terms_decide(request, pk: int, decision: str):
    acceptance = selectors.scoped_get(
        TermsAcceptance.objects.select_related("terms", "client"), user=request.user, pk=pk
    )
    try:
        if decision == "accept":
            services.terms_accept(acceptance=acceptance, acting_user=request.user)
            messages.success(request, f"You accepted terms {acceptance.terms.version}.")
        elif decision == "object":
            form = ReasonForm(request.POST)
            reason = form.data.get("reason", "")
            services.terms_object(acceptance=acceptance, acting_user=request.user, reason=reason)
            messages.success(
                request, f"Your objection to terms {acceptance.terms.version} is recorded."
            )
        else:
            raise Http404
    except NotAllowed as exc:
        raise PermissionDenied(exc.message) from exc
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("dashboard")


@staff_required
def terms_publish(request):
    form = TermsPublishForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            terms = services.terms_publish(acting_user=request.user, **form.cleaned_data)
        except NotAllowed as exc:
            raise PermissionDenied(exc.message) from exc
        except ApplicationError as exc:
            add_service_error(form, exc)
        else:
            messages.success(
                request,
                f"Terms {terms.version} published; active clients are notified (art. 18.3).",
            )
            return redirect("terms_publish")
    from .models import TermsVersion

    versions = paginate(
        request,
        TermsVersion.objects.select_related("provider", "published_by").order_by(
            "-published_at", "-pk"
        ),
    )
    objections = TermsAcceptance.objects.filter(
        status=TermsAcceptance.Status.OBJECTED
    ).select_related("client", "terms")[:50]
    return render(
        request,
        "accounts/terms_publish.html",
        {"form": form, "versions": versions, "objections": objections},
    )


# --- Staff: clients ------------------------------------------------------------------------
@staff_required
def client_list(request):
    return _client_list_page(request)


def _client_list_page(request, invite_form: OnboardingInviteForm | None = None):
    form = ClientFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    page = paginate(request, selectors.client_list(filters=filters))
    query = urlencode({k: v for k, v in (filters or {}).items() if v})
    return render(
        request,
        "accounts/client_list.html",
        {"form": form, "clients": page, "query": query, "invite_form": invite_form or OnboardingInviteForm()},
        status=400 if invite_form is not None else 200,
    )


@require_POST
@staff_required
def onboarding_invite(request):
    """Billing staff invite a person to sign up and register its company."""
    form = OnboardingInviteForm(request.POST)
    if form.is_valid():
        try:
            services.onboarding_invite(acting_user=request.user, **form.cleaned_data)
        except NotAllowed as exc:
            raise PermissionDenied(exc.message) from exc
        except ApplicationError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, f"Invitation to register sent to {form.cleaned_data['email']}.")
            return redirect("client_list")
    return _client_list_page(request, invite_form=form)


ACTION_FORMS = {
    "reject_form": ReasonForm,
    "suspend_form": SuspendForm,
    "resume_form": ReasonForm,
    "data_request_form": DataRequestLogForm,
    "notice_form": OptionalReasonForm,
    "default_form": DefaultNoticeForm,
    "terminate_form": TerminateForm,
}


def _client_detail_context(request, client, **bound_forms):
    agreement = Agreement.objects.filter(client=client).first()
    context = {
        "client": client,
        "directors": client.directors.all(),
        "agreement": agreement,
        "suspensions": selectors.client_open_suspensions(client=client),
        "current_terms": selectors.client_current_terms(client=client),
        "terms_acceptances": client.terms_acceptances.select_related("terms")[:10],
        "change_requests": paginate(
            request,
            ChangeRequest.objects.filter(client=client).select_related(
                "submitted_by", "decided_by"
            ),
            per_page=10,
        ),
        "data_requests": Paginator(
            DataRequest.objects.filter(client=client).order_by("-logged_at", "-pk"), 10
        ).get_page(request.GET.get("dr_page")),
        "members": Paginator(selectors.client_users(client=client), 10).get_page(
            request.GET.get("user_page")
        ),
        "history": Paginator(registration_history(client), 10).get_page(
            request.GET.get("history_page")
        ),
        "decision_form": DecisionNoteForm(),
    }
    for name, form_class in ACTION_FORMS.items():
        context[name] = bound_forms.get(name) or form_class(prefix=name.removesuffix("_form"))
    return context


def _staff_client(request, pk):
    """The client for a staff page: 404 for one the user may not see, 403 for a client user's own."""
    client = selectors.client_get(user=request.user, pk=pk)
    if not request.user.is_provider_staff:
        raise PermissionDenied
    return client


@login_required
def client_detail(request, pk: int):
    client = selectors.client_get(user=request.user, pk=pk)
    if not request.user.is_provider_staff:
        return redirect("company")
    return render(request, "accounts/client_detail.html", _client_detail_context(request, client))


def _client_action(form_name: str, success: str, call):
    """A staff action on a client: bind its form, call the service, show the refusal on the page."""

    @require_POST
    @login_required
    def view(request, pk: int):
        client = _staff_client(request, pk)
        form_class = ACTION_FORMS.get(form_name)
        form = (
            form_class(request.POST, prefix=form_name.removesuffix("_form")) if form_class else None
        )
        if form is None or form.is_valid():
            try:
                call(request, client, form.cleaned_data if form else {})
            except NotAllowed as exc:
                raise PermissionDenied(exc.message) from exc
            except ApplicationError as exc:
                if form is None:
                    messages.error(request, exc.message)
                    return redirect("client_detail", pk=client.pk)
                add_service_error(form, exc)
            else:
                messages.success(request, success)
                return redirect("client_detail", pk=client.pk)
        context = _client_detail_context(request, client, **{form_name: form})
        context["open_action"] = form_name
        return render(request, "accounts/client_detail.html", context, status=400)

    return view


def _agreement(client):
    agreement = Agreement.objects.filter(client=client).first()
    if agreement is None:
        raise ApplicationError(
            "This client has no agreement yet; approve it first.", field="status"
        )
    return agreement


client_approve = _client_action(
    "approve_form",
    "Client approved; the agreement starts today.",
    lambda r, c, d: services.client_approve(client=c, acting_user=r.user),
)
client_reject = _client_action(
    "reject_form",
    "Registration rejected; the applicant is told why.",
    lambda r, c, d: services.client_reject(client=c, acting_user=r.user, reason=d["reason"]),
)
client_suspend = _client_action(
    "suspend_form",
    "Service suspended; the client sees the reason.",
    lambda r, c, d: services.client_suspend(
        client=c, acting_user=r.user, cause=d["cause"], reason=d["reason"]
    ),
)
client_resume = _client_action(
    "resume_form",
    "Service resumed.",
    lambda r, c, d: services.client_resume(client=c, acting_user=r.user, reason=d["reason"]),
)
client_data_request_log = _client_action(
    "data_request_form",
    "Data request logged; the client must answer within 3 working days (art. 5.6).",
    lambda r, c, d: services.data_request_log(client=c, acting_user=r.user, **d),
)
client_give_notice = _client_action(
    "notice_form",
    "Notice given; the end date follows art. 15.2.",
    lambda r, c, d: services.agreement_give_notice(
        agreement=_agreement(c),
        party=Agreement.Party.PROVIDER,
        acting_user=r.user,
        reason=d["reason"],
    ),
)
client_notice_of_default = _client_action(
    "default_form",
    "Notice of default sent; the cure period runs 10 working days (art. 15.4).",
    lambda r, c, d: services.agreement_notice_of_default(
        agreement=_agreement(c), acting_user=r.user, text=d["text"]
    ),
)
client_terminate = _client_action(
    "terminate_form",
    "Agreement terminated.",
    lambda r, c, d: services.agreement_terminate_for_cause(
        agreement=_agreement(c), acting_user=r.user, reason=d["reason"], immediate=d["immediate"]
    ),
)


@require_POST
@login_required
def change_request_decide(request, pk: int, decision: str):
    change_request = selectors.scoped_get(
        ChangeRequest.objects.select_related("client"), user=request.user, pk=pk
    )
    if not request.user.is_provider_staff:
        raise PermissionDenied
    note = DecisionNoteForm(request.POST).data.get("note", "")
    try:
        if decision == "accept":
            services.change_request_accept(
                change_request=change_request, acting_user=request.user, note=note
            )
            messages.success(request, "Change accepted and applied (art. 5.5).")
        elif decision == "reject":
            services.change_request_reject(
                change_request=change_request, acting_user=request.user, note=note
            )
            messages.success(request, "Change request rejected.")
        else:
            raise Http404
    except NotAllowed as exc:
        raise PermissionDenied(exc.message) from exc
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect(_safe_next(request, reverse("client_detail", args=[change_request.client_id])))


@staff_required
def change_requests(request):
    status = request.GET.get("status", ChangeRequest.Status.PENDING)
    qs = selectors.change_request_list(user=request.user, status=status or None)
    return render(
        request,
        "accounts/change_requests.html",
        {
            "change_requests": paginate(request, qs),
            "status": status,
            "statuses": ChangeRequest.Status.choices,
        },
    )
