"""Processing under mandatory law (art. 21.1.2): compliance officers record it; the client reads
what it was informed of."""

from django import forms
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _

from accounts.forms import ClientField, UserScopedForm
from accounts.kernel.pages import paginate
from dataprocessing import selectors
from dataprocessing.services import mandatory as services

from ._common import call_service, history, staff_or_client_required


class MandatoryProcessingForm(UserScopedForm):
    client = ClientField(label=_("Client"))
    law = forms.CharField(label=_("Mandatory law requiring it"), max_length=300)
    description = forms.CharField(
        label=_("Processing and personal data concerned"), widget=forms.Textarea(attrs={"rows": 3})
    )
    starts_at = forms.DateTimeField(
        label=_("Processing starts (UTC)"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    informing_prohibited = forms.BooleanField(
        label=_("The law prohibits informing the client"), required=False
    )
    prohibition_basis = forms.CharField(
        label=_("Where the law prohibits it"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


@staff_or_client_required
def mandatory_processing(request):
    user = request.user
    form = (
        MandatoryProcessingForm(request.POST or None, user=user)
        if user.is_compliance_officer
        else None
    )
    if request.method == "POST":
        if form is None:
            raise PermissionDenied
        if form.is_valid() and call_service(
            request,
            lambda: services.mandatory_processing_record(acting_user=user, **form.cleaned_data),
            _("Recorded (art. 21.1.2)."),
            form,
        ):
            return redirect("dataprocessing:mandatory_processing")
    rows = selectors.mandatory_processing_list(user=user)
    return render(
        request,
        "dataprocessing/mandatory.html",
        {"records": paginate(request, rows), "form": form},
        status=400 if form is not None and form.errors else 200,
    )


@staff_or_client_required
def mandatory_processing_detail(request, pk: int):
    record = selectors.mandatory_processing_get(user=request.user, pk=pk)
    return render(
        request,
        "dataprocessing/mandatory_detail.html",
        {"record": record, "history": history(record) if request.user.is_provider_staff else []},
    )
