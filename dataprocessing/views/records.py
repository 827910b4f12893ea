"""Records of processing per client (art. 21.8, 24): kept by the compliance officers, read by the
client's users, exported as CSV and PDF."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext

from accounts.kernel.csv_export import csv_response
from accounts.kernel.languages import client_language
from accounts.kernel.pages import paginate
from accounts.selectors import client_get
from dataprocessing import selectors
from dataprocessing.forms import ProcessingRecordCreateForm, ProcessingRecordForm
from dataprocessing.services import records as services

from ._common import call_service, history, staff_or_client_required


@staff_or_client_required
def records(request):
    """Staff: every client with its record; a client user goes to its own record."""
    user = request.user
    if not user.is_provider_staff:
        return redirect("dataprocessing:record_detail", client_pk=user.client_id)
    q = request.GET.get("q", "")
    create_form = None
    if user.is_compliance_officer:
        create_form = ProcessingRecordCreateForm(
            request.POST if request.method == "POST" else None, user=user, prefix="create"
        )
        if request.method == "POST" and create_form.is_valid():
            client = create_form.cleaned_data["client"]
            if call_service(
                request,
                lambda: services.processing_record_create(client=client, acting_user=user),
                gettext(
                    "Record of processing created from the contract's description (art. 21.8)."
                ),
                create_form,
            ):
                return redirect("dataprocessing:record_detail", client_pk=client.pk)
    elif request.method == "POST":
        raise PermissionDenied
    return render(
        request,
        "dataprocessing/records.html",
        {
            "clients": paginate(request, selectors.processing_record_clients(user=user, q=q)),
            "q": q,
            "create_form": create_form,
        },
        status=400 if create_form is not None and create_form.errors else 200,
    )


@login_required
def record_detail(request, client_pk: int):
    client = client_get(user=request.user, pk=client_pk)
    record = selectors.processing_record_of(user=request.user, client=client)
    form = None
    if request.user.is_compliance_officer:
        initial = services.processing_record_defaults(client=client) if record is None else None
        form = ProcessingRecordForm(request.POST or None, instance=record, initial=initial)
        if request.method == "POST" and form.is_valid():
            data = {f: form.cleaned_data[f] for f in ProcessingRecordForm.Meta.fields}
            if call_service(
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
            "history": history(record) if record else [],
        },
        status=400 if form is not None and form.errors else 200,
    )


@login_required
def record_csv(request, client_pk: int):
    client = client_get(user=request.user, pk=client_pk)
    return csv_response(
        f"processing-record-{client.pk}.csv",
        selectors.RECORD_EXPORT_HEADER,
        selectors.processing_record_export_rows(client=client),
    )


@login_required
def record_pdf(request, client_pk: int):
    """The record of processing as PDF (WeasyPrint), with a CJK-capable font for Chinese names."""
    from weasyprint import HTML

    client = client_get(user=request.user, pk=client_pk)
    # The client's document, in the client's language whoever downloads it (issue 11 §2).
    language = client_language(client)
    with translation.override(language):
        html = render_to_string(
            "dataprocessing/record_pdf.html",
            {
                "client": client,
                "rows": selectors.processing_record_export_rows(client=client),
                "generated_at": timezone.now(),
                "document_language": language,
            },
        )
    pdf = HTML(string=html, base_url=request.build_absolute_uri("/")).write_pdf()
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="processing-record-{client.pk}.pdf"'
    return response
