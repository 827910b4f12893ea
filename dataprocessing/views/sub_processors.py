"""The sub-processor register (art. 21.9, 21.10) for staff, the provider's current list with the
announced changes for clients, and their objections (GDPR art. 28(2))."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from accounts.kernel.pages import paginate, staff_required
from dataprocessing import selectors
from dataprocessing.forms import (
    ObjectionForm,
    ResolutionForm,
    SubProcessorAnnounceForm,
    SubProcessorForm,
)
from dataprocessing.models import SubProcessor
from dataprocessing.services import sub_processors as services

from ._common import call_service, history, staff_or_client_required

TEMPLATE = "dataprocessing/sub_processors.html"


def _context(request, **bound):
    user = request.user
    provider = request.GET.get("provider", "")
    context = {
        "sub_processors": paginate(
            request,
            selectors.sub_processor_list(
                user=user, provider_code=provider if user.is_provider_staff else None
            ),
        ),
        "changes": paginate(
            request,
            selectors.sub_processor_change_list(user=user).prefetch_related("objections__client"),
            per_page=10,
            param="changes_page",
        ),
        "provider": provider,
    }
    if user.is_provider_staff:
        context["register_form"] = bound.get("register_form") or SubProcessorForm(
            prefix="register", user=user
        )
        context["announce_form"] = bound.get("announce_form") or SubProcessorAnnounceForm(
            prefix="announce", user=user
        )
        context["resolution_form"] = ResolutionForm()
        context["providers"] = selectors.providers(user=user)
    else:
        # The client sees its own objection with staff's decision and answer (art. 21.9), never
        # another client's: the prefetched objections are not shown to it.
        own = {
            o.change_id: o
            for o in selectors.sub_processor_objection_list(user=user).filter(
                change__in=[c.pk for c in context["changes"]]
            )
        }
        for change in context["changes"]:
            change.own_objection = own.get(change.pk)
        context["objected"] = set(own)
        context["object_form"] = ObjectionForm()
        context["bound_object_form"] = bound.get("object_form")
        context["bound_change"] = bound.get("change_pk")
    context["open_action"] = bound.get("open_action")
    return context


@staff_or_client_required
def sub_processors(request):
    """The register (staff) or the provider's current list with announced changes (clients)."""
    return render(request, TEMPLATE, _context(request))


@require_POST
@staff_required
def sub_processor_register(request):
    form = SubProcessorForm(request.POST, request.FILES, prefix="register", user=request.user)
    if form.is_valid():
        data = dict(form.cleaned_data)
        if call_service(
            request,
            lambda: services.sub_processor_register(acting_user=request.user, **data),
            f"{data['name']} entered in the register.",
            form,
        ):
            return redirect("dataprocessing:sub_processors")
    context = _context(request, register_form=form, open_action="register_form")
    return render(request, TEMPLATE, context, status=400)


@require_POST
@staff_required
def sub_processor_announce(request):
    form = SubProcessorAnnounceForm(request.POST, prefix="announce", user=request.user)
    if form.is_valid():
        data = form.cleaned_data
        if call_service(
            request,
            lambda: services.sub_processor_change_announce(acting_user=request.user, **data),
            "Change announced; every client's admins are told and may object before it takes effect.",
            form,
        ):
            return redirect("dataprocessing:sub_processors")
    context = _context(request, announce_form=form, open_action="announce_form")
    return render(request, TEMPLATE, context, status=400)


def _initial(sp: SubProcessor) -> dict:
    return {
        field: getattr(sp, field)
        for field in services.SUB_PROCESSOR_FIELDS
        if field != "agreement_document"
    }


@login_required
def sub_processor_detail(request, pk: int):
    """One register entry with its history (who changed what, when)."""
    sub_processor = selectors.sub_processor_get(user=request.user, pk=pk)
    form = None
    if request.user.is_compliance_officer:
        form = SubProcessorForm(
            request.POST or None,
            request.FILES or None,
            initial=_initial(sub_processor),
            user=request.user,
        )
        form.fields.pop("provider")
        if request.method == "POST" and form.is_valid():
            changes = {k: v for k, v in form.cleaned_data.items() if k != "agreement_document" or v}
            if call_service(
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
        {"sp": sub_processor, "form": form, "history": history(sub_processor)},
        status=400 if form is not None and form.errors else 200,
    )


@require_POST
@login_required
def sub_processor_object(request, pk: int):
    """A client admin objects to an announced change before it takes effect (GDPR art. 28(2))."""
    change = selectors.sub_processor_change_get(user=request.user, pk=pk)
    if not request.user.client_id:
        raise PermissionDenied
    form = ObjectionForm(request.POST)
    if form.is_valid() and call_service(
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
    context = _context(request, object_form=form, change_pk=change.pk)
    return render(request, TEMPLATE, context, status=400)


@require_POST
@staff_required
def sub_processor_change_withdraw(request, pk: int):
    change = selectors.sub_processor_change_get(user=request.user, pk=pk)
    call_service(
        request,
        lambda: services.sub_processor_change_withdraw(change=change, acting_user=request.user),
        "Change withdrawn.",
    )
    return redirect("dataprocessing:sub_processors")


@require_POST
@staff_required
def sub_processor_objection_resolve(request, pk: int):
    objection = selectors.sub_processor_objection_get(user=request.user, pk=pk)
    form = ResolutionForm(request.POST)
    if form.is_valid():
        call_service(
            request,
            lambda: services.sub_processor_objection_resolve(
                objection=objection,
                acting_user=request.user,
                resolution=form.cleaned_data["resolution"],
                decision=form.cleaned_data["decision"],
            ),
            gettext("Objection decided and answered; the client is told."),
        )
    else:
        messages.error(request, _("Decide the objection and answer the client (art. 21.9)."))
    return redirect(reverse("dataprocessing:sub_processors") + "#changes")
