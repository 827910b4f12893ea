"""Invoices (art. 4.1, 4.5): keyset list, detail, PDF, e-invoice XML (issue 14 §3), draft,
issue, void, fapiao confirmation."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from django.http import HttpResponse
from django.utils.translation import gettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import renderers, serializers

from accounts import selectors as account_selectors
from accounts.api.views.base import (
    CLIENT_PARAM,
    ERRORS_READ,
    ERRORS_WRITE,
    Api,
    client_from_query,
    responses,
)
from accounts.kernel.errors import ValidationFailed
from accounts.kernel.idempotency import idempotent
from accounts.kernel.permissions import IsBillingStaff, IsClientAdmin
from billing.invoicing import einvoice, selectors
from billing.invoicing.pdf import invoice_pdf, invoice_pdf_filename
from billing.invoicing.services import fapiao as fapiao_services
from billing.invoicing.services import invoices as invoice_services
from billing.models import FapiaoRequest, Invoice, UsageRecord

from ..serializers import FapiaoRequestSerializer, InvoiceDetailSerializer, InvoiceListSerializer
from ._common import (
    DEFAULT_PAGE_SIZE,
    KEY_HEADER_OPTIONAL,
    DecimalString,
    invoice_answer,
    invoice_of,
    status_param,
)


def _list_filters(request) -> dict:
    """status, kind, period (YYYY-MM of the invoice date), date_from and date_to."""
    params = request.query_params
    filters: dict = {}
    status = status_param(request, Invoice.Status.values)
    if status:
        filters["status"] = status
    kind = params.get("kind")
    if kind:
        if kind not in Invoice.Kind.values:
            raise ValidationFailed(
                {
                    "kind": [
                        gettext("kind must be one of %(choices)s.")
                        % {"choices": ", ".join(Invoice.Kind.values)}
                    ]
                }
            )
        filters["kind"] = kind
    period = params.get("period")
    if period:
        try:
            first = dt.date.fromisoformat(f"{period}-01")
        except ValueError:
            raise ValidationFailed({"period": [gettext("period is a month, YYYY-MM.")]}) from None
        filters["date_from"] = first
        filters["date_to"] = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    for name in ("date_from", "date_to"):
        value = params.get(name)
        if value:
            try:
                filters[name] = dt.date.fromisoformat(value)
            except ValueError:
                raise ValidationFailed(
                    {name: [gettext("%(name)s must be a date, YYYY-MM-DD.") % {"name": name}]}
                ) from None
    return filters


def _page_size(request) -> int:
    raw = request.query_params.get("page_size")
    if raw is None:
        return DEFAULT_PAGE_SIZE
    if not raw.isdigit() or not 1 <= int(raw) <= selectors.MAX_PAGE_SIZE:
        raise ValidationFailed(
            {
                "page_size": [
                    gettext("page_size is a whole number from 1 to %(max_page_size)s.")
                    % {"max_page_size": selectors.MAX_PAGE_SIZE}
                ]
            }
        )
    return int(raw)


class PdfRenderer(renderers.BaseRenderer):
    media_type = "application/pdf"
    format = "pdf"
    charset = None
    render_style = "binary"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data if isinstance(data, bytes) else b""


class XmlRenderer(renderers.BaseRenderer):
    media_type = "application/xml"
    format = "xml"
    charset = None
    render_style = "binary"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data if isinstance(data, bytes) else b""


INVOICE_LIST_PARAMS = [
    CLIENT_PARAM,
    OpenApiParameter("status", str, enum=Invoice.Status.values),
    OpenApiParameter("kind", str, enum=Invoice.Kind.values),
    OpenApiParameter("period", str, description="month of the invoice date, YYYY-MM"),
    OpenApiParameter("date_from", OpenApiTypes.DATE, description="invoice date, inclusive"),
    OpenApiParameter("date_to", OpenApiTypes.DATE, description="invoice date, inclusive"),
    OpenApiParameter("cursor", str, description="`next_cursor` of the previous page"),
    OpenApiParameter("page_size", int, description=f"1 to {selectors.MAX_PAGE_SIZE}, default 50"),
]


class InvoiceListApi(Api):
    queryset = Invoice.objects.none()
    write_permission_classes = [IsBillingStaff]

    class InputSerializer(serializers.Serializer):
        class LineSerializer(serializers.Serializer):
            description = serializers.CharField(max_length=300)
            quantity = DecimalString(required=False, default="1")
            unit_price = DecimalString(help_text="excluding VAT (art. 4.1), up to 6 decimals")
            vat_rate = DecimalString(
                required=False,
                allow_null=True,
                default=None,
                help_text="percent; the profile's default when omitted (0 under reverse charge)",
            )
            channel = serializers.ChoiceField(
                choices=UsageRecord.Channel.choices, required=False, allow_blank=True, default=""
            )
            messages = serializers.IntegerField(required=False, min_value=0, default=0)

        client = serializers.IntegerField()
        lines = LineSerializer(many=True)
        notes = serializers.CharField(required=False, allow_blank=True, default="")
        period_start = serializers.DateField(required=False, allow_null=True, default=None)
        period_end = serializers.DateField(required=False, allow_null=True, default=None)
        currency = serializers.CharField(
            required=False,
            allow_blank=True,
            default="",
            help_text="ISO 4217; the agreement's currency when omitted (art. 4.1, CX 3)",
        )
        payment_term_days = serializers.IntegerField(
            required=False,
            allow_null=True,
            default=None,
            help_text="the invoice's own payment term in days; the agreement's when omitted (art. 4.5, 4.8)",
        )

    @extend_schema(
        tags=["invoices"],
        operation_id="invoices_list",
        parameters=INVOICE_LIST_PARAMS,
        responses=responses(200, InvoiceListSerializer),
    )
    def get(self, request):
        """The client's issued invoices and credit notes, newest first, filtered.

        Keyset-paginated on (invoice date, id): each page is one indexed query whatever its
        depth; follow `next` (or pass `next_cursor` as `?cursor=`)."""
        client = client_from_query(request)
        filters = _list_filters(request)
        page_size = _page_size(request)
        try:
            page = selectors.invoice_list(
                user=request.user,
                client=client,
                filters=filters,
                cursor=request.query_params.get("cursor") or None,
                page_size=page_size,
            )
        except ValueError:
            raise ValidationFailed(
                {"cursor": [gettext("This cursor is not one the list gave.")]}
            ) from None
        next_url = None
        if page.next_cursor:
            query = request.query_params.copy()
            query["cursor"] = page.next_cursor
            next_url = request.build_absolute_uri(f"{request.path}?{urlencode(query)}")
        return self.present(
            {"next_cursor": page.next_cursor, "next": next_url, "results": page.items},
            InvoiceListSerializer,
        )

    @extend_schema(
        tags=["invoices"],
        request=InputSerializer,
        responses=responses(201, InvoiceDetailSerializer),
    )
    def post(self, request):
        """Staff draft a manual invoice; prices exclude VAT, in the agreed currency (art. 4.1, CX 3),
        due after the invoice's own payment term or else the agreement's (art. 4.5, 4.8)."""
        data = self.input(request)
        client = account_selectors.client_get(user=request.user, pk=data["client"])
        draft = invoice_services.invoice_draft(
            client=client,
            lines=[dict(line) for line in data["lines"]],
            acting_user=request.user,
            notes=data["notes"],
            period_start=data["period_start"],
            period_end=data["period_end"],
            currency=data["currency"],
            payment_term_days=data["payment_term_days"],
        )
        return self.present(invoice_answer(request, draft), InvoiceDetailSerializer, status=201)


class InvoiceDetailApi(Api):
    queryset = Invoice.objects.none()

    @extend_schema(tags=["invoices"], responses={200: InvoiceDetailSerializer, **ERRORS_READ})
    def get(self, request, pk):
        """Lines, payments, set-offs, late interest so far (art. 4.6), disputes, fapiao and what
        is due now, less the disputed part `withheld` (art. 4.5)."""
        return self.present(
            invoice_answer(request, invoice_of(request, pk)), InvoiceDetailSerializer
        )


class InvoicePdfApi(Api):
    queryset = Invoice.objects.none()
    renderer_classes = [renderers.JSONRenderer, PdfRenderer]

    def finalize_response(self, request, response, *args, **kwargs):
        # An error (404, 401, ...) is JSON in the one error shape even when the PDF was asked
        # for (`?format=pdf` or `Accept: application/pdf`): a PDF renderer cannot say why.
        if response.status_code >= 400 and hasattr(response, "data"):
            request.accepted_renderer = renderers.JSONRenderer()
            request.accepted_media_type = "application/json"
        return super().finalize_response(request, response, *args, **kwargs)

    @extend_schema(
        tags=["invoices"],
        responses={
            (200, "application/pdf"): OpenApiResponse(
                OpenApiTypes.BINARY, description="the invoice or credit note as PDF"
            ),
            **ERRORS_READ,
        },
    )
    def get(self, request, pk):
        """The invoice or credit note as a PDF file (an attachment named after its number)."""
        invoice = invoice_of(request, pk)
        response = HttpResponse(invoice_pdf(invoice), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{invoice_pdf_filename(invoice)}"'
        return response


class InvoiceEInvoiceApi(InvoicePdfApi):
    renderer_classes = [renderers.JSONRenderer, XmlRenderer]

    @extend_schema(
        tags=["invoices"],
        responses={
            (200, "application/xml"): OpenApiResponse(
                OpenApiTypes.BINARY,
                description="the EN 16931 e-invoice (Factur-X / ZUGFeRD CII XML)",
            ),
            **ERRORS_READ,
            409: ERRORS_WRITE[409],
        },
    )
    def get(self, request, pk):
        """The invoice or credit note as a structured e-invoice: EN 16931 data in the Factur-X
        / ZUGFeRD CII XML (the same XML the PDF embeds), checked against the Factur-X EN 16931
        XSD; an attachment. 404 for a draft or a provider that issues no e-invoices; 409 when
        the provider profile still lacks the seller's VAT number (the field named)."""
        document = einvoice.invoice_einvoice(invoice_of(request, pk))
        response = HttpResponse(document.xml, content_type="application/xml")
        response["Content-Disposition"] = f'attachment; filename="{document.filename}"'
        return response


class InvoiceIssueApi(Api):
    queryset = Invoice.objects.none()
    permission_classes = [IsBillingStaff]

    class InputSerializer(serializers.Serializer):
        invoice_date = serializers.DateField(
            required=False, allow_null=True, default=None, help_text="today by default"
        )

    @extend_schema(
        tags=["invoices"],
        request=InputSerializer,
        parameters=[KEY_HEADER_OPTIONAL],
        responses=responses(200, InvoiceDetailSerializer),
    )
    def post(self, request, pk):
        """Issue a draft: the next gapless number, due date after the payment term (art. 4.1, 4.5)."""

        def handler():
            invoice = invoice_of(request, pk)
            data = self.input(request)
            issued = invoice_services.invoice_issue(
                invoice=invoice, acting_user=request.user, invoice_date=data["invoice_date"]
            )
            return self.present(invoice_answer(request, issued), InvoiceDetailSerializer)

        return idempotent(request, handler)


class InvoiceVoidApi(Api):
    queryset = Invoice.objects.none()
    permission_classes = [IsBillingStaff]

    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField(help_text="why; the client sees it")

    class OutputSerializer(serializers.Serializer):
        invoice = InvoiceDetailSerializer()
        credit_note = serializers.IntegerField(
            allow_null=True, help_text="the credit note that cancels it (none for a draft)"
        )

    @extend_schema(
        tags=["invoices"],
        request=InputSerializer,
        parameters=[KEY_HEADER_OPTIONAL],
        responses=responses(200, OutputSerializer),
    )
    def post(self, request, pk):
        """Void an invoice: an issued one is cancelled by a credit note, never edited (art. 4.1)."""

        def handler():
            invoice = invoice_of(request, pk)
            data = self.input(request)
            note = invoice_services.invoice_void(
                invoice=invoice, acting_user=request.user, reason=data["reason"]
            )
            return self.present(
                {
                    "invoice": invoice_answer(request, invoice),
                    "credit_note": note.pk if note is not None else None,
                },
                self.OutputSerializer,
            )

        return idempotent(request, handler)


class InvoiceConfirmFapiaoApi(Api):
    queryset = FapiaoRequest.objects.none()
    permission_classes = [IsClientAdmin]

    @extend_schema(
        tags=["fapiao-requests"], request=None, responses=responses(201, FapiaoRequestSerializer)
    )
    def post(self, request, pk):
        """The client admin confirms the invoice in writing; the fapiao is due 7 days later (art. 4.8).
        Refused under a profile without fapiao."""
        invoice = invoice_of(request, pk)
        created = fapiao_services.fapiao_confirm(invoice=invoice, acting_user=request.user)
        return self.present(
            selectors.fapiao_request_get(user=request.user, pk=created.pk),
            FapiaoRequestSerializer,
            status=201,
        )
