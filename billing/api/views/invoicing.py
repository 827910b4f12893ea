"""The invoicing API (art. 4, 9, 10): invoices (keyset list, detail, PDF, draft, issue, void,
fapiao confirmation), payments, deposits, set-offs, fapiao requests, disputes, interest rates
and prices. Thin views over billing.invoicing (every change) and the scoped selectors (every
read): another client's id answers 404, a refused change comes out in the one error shape.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import renderers, serializers

from accounts import selectors as account_selectors
from accounts.api.views.base import ERRORS_READ, Api, client_for, responses
from accounts.kernel.errors import ValidationFailed
from accounts.kernel.idempotency import idempotent, request_key
from accounts.kernel.permissions import IsBillingStaff, IsClientAdmin
from accounts.models import Provider
from billing import invoicing
from billing import invoicing_page_selectors as pages
from billing import invoicing_selectors as selectors
from billing.models import (
    Deposit,
    Dispute,
    FapiaoRequest,
    InterestRate,
    Invoice,
    Payment,
    Price,
    RestitutionRequest,
    SetOff,
    UsageRecord,
)
from billing.pdf import invoice_pdf, invoice_pdf_filename

from ..serializers_invoicing import (
    DepositSerializer,
    DisputeSerializer,
    FapiaoRequestSerializer,
    InterestRateSerializer,
    InvoiceDetailSerializer,
    InvoiceListSerializer,
    PaymentSerializer,
    PriceSerializer,
    SetOffSerializer,
)

CLIENT_PARAM = OpenApiParameter(
    "client", int, description="the client's id (staff; a client user's own client by default)"
)
KEY_HEADER = OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=True)
KEY_HEADER_OPTIONAL = OpenApiParameter(
    "Idempotency-Key", str, OpenApiParameter.HEADER, description="same key, same body: one answer"
)
DEFAULT_PAGE_SIZE = 50


class DecimalString(serializers.CharField):
    """An amount as a decimal string; a JSON float is refused (DESIGN.md, Money)."""

    def to_internal_value(self, data):
        if isinstance(data, float):
            raise serializers.ValidationError(
                "Give amounts as decimal strings, never floating point numbers."
            )
        return super().to_internal_value(data)


def _client_from_query(request):
    """The client named by `?client=` (staff) or the caller's own; another client's id is 404."""
    raw = request.query_params.get("client")
    if raw is not None and not raw.isdigit():
        raise ValidationFailed({"client": ["client must be a client id."]})
    return client_for(request, int(raw) if raw else None)


def _optional_client(request):
    """Staff may list every client's rows (or one with `?client=`); a client user its own."""
    if request.user.is_provider_staff and not request.query_params.get("client"):
        return None
    return _client_from_query(request)


def _require_key(request) -> str:
    key = request_key(request)
    if not key:
        raise ValidationFailed(
            {
                "Idempotency-Key": [
                    "Send an Idempotency-Key header: nothing moves money without one (DESIGN.md)."
                ]
            }
        )
    return key


def _status_param(request, choices) -> str:
    value = request.query_params.get("status") or ""
    if value and value not in choices:
        raise ValidationFailed({"status": [f"status must be one of {', '.join(choices)}."]})
    return value


# --- Invoices ------------------------------------------------------------------------------
def _list_filters(request) -> dict:
    """status, kind, period (YYYY-MM of the invoice date), date_from and date_to."""
    params = request.query_params
    filters: dict = {}
    status = _status_param(request, Invoice.Status.values)
    if status:
        filters["status"] = status
    kind = params.get("kind")
    if kind:
        if kind not in Invoice.Kind.values:
            raise ValidationFailed(
                {"kind": [f"kind must be one of {', '.join(Invoice.Kind.values)}."]}
            )
        filters["kind"] = kind
    period = params.get("period")
    if period:
        try:
            first = dt.date.fromisoformat(f"{period}-01")
        except ValueError:
            raise ValidationFailed({"period": ["period is a month, YYYY-MM."]}) from None
        filters["date_from"] = first
        filters["date_to"] = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    for name in ("date_from", "date_to"):
        value = params.get(name)
        if value:
            try:
                filters[name] = dt.date.fromisoformat(value)
            except ValueError:
                raise ValidationFailed({name: [f"{name} must be a date, YYYY-MM-DD."]}) from None
    return filters


def _page_size(request) -> int:
    raw = request.query_params.get("page_size")
    if raw is None:
        return DEFAULT_PAGE_SIZE
    if not raw.isdigit() or not 1 <= int(raw) <= selectors.MAX_PAGE_SIZE:
        raise ValidationFailed(
            {"page_size": [f"page_size is a whole number from 1 to {selectors.MAX_PAGE_SIZE}."]}
        )
    return int(raw)


def _invoice_answer(invoice: Invoice):
    return selectors.invoice_detail(client=invoice.client, pk=invoice.pk)


def _invoice(request, pk) -> Invoice:
    return pages.invoice_get(user=request.user, pk=pk)


class PdfRenderer(renderers.BaseRenderer):
    media_type = "application/pdf"
    format = "pdf"
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
        client = _client_from_query(request)
        filters = _list_filters(request)
        page_size = _page_size(request)
        try:
            page = selectors.invoice_list(
                client=client,
                filters=filters,
                cursor=request.query_params.get("cursor") or None,
                page_size=page_size,
            )
        except ValueError:
            raise ValidationFailed({"cursor": ["This cursor is not one the list gave."]}) from None
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
        """Staff draft a manual invoice; prices exclude VAT, in the provider's currency (art. 4.1)."""
        data = self.input(request)
        client = account_selectors.client_get(user=request.user, pk=data["client"])
        draft = invoicing.invoice_draft(
            client=client,
            lines=[dict(line) for line in data["lines"]],
            acting_user=request.user,
            notes=data["notes"],
            period_start=data["period_start"],
            period_end=data["period_end"],
        )
        return self.present(_invoice_answer(draft), InvoiceDetailSerializer, status=201)


class InvoiceDetailApi(Api):
    queryset = Invoice.objects.none()

    @extend_schema(tags=["invoices"], responses={200: InvoiceDetailSerializer, **ERRORS_READ})
    def get(self, request, pk):
        """Lines, payments, set-offs, late interest so far (art. 4.6), disputes, fapiao and what
        is due now (art. 10.2)."""
        return self.present(_invoice_answer(_invoice(request, pk)), InvoiceDetailSerializer)


class InvoicePdfApi(Api):
    queryset = Invoice.objects.none()
    renderer_classes = [renderers.JSONRenderer, PdfRenderer]

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
        invoice = _invoice(request, pk)
        response = HttpResponse(invoice_pdf(invoice), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{invoice_pdf_filename(invoice)}"'
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
            invoice = _invoice(request, pk)
            data = self.input(request)
            issued = invoicing.invoice_issue(
                invoice=invoice, acting_user=request.user, invoice_date=data["invoice_date"]
            )
            return self.present(_invoice_answer(issued), InvoiceDetailSerializer)

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
            invoice = _invoice(request, pk)
            data = self.input(request)
            note = invoicing.invoice_void(
                invoice=invoice, acting_user=request.user, reason=data["reason"]
            )
            return self.present(
                {
                    "invoice": _invoice_answer(invoice),
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
        invoice = _invoice(request, pk)
        created = invoicing.fapiao_confirm(invoice=invoice, acting_user=request.user)
        return self.present(
            pages.fapiao_request_get(user=request.user, pk=created.pk),
            FapiaoRequestSerializer,
            status=201,
        )


# --- Payments (art. 4.10) ------------------------------------------------------------------
class PaymentListApi(Api):
    queryset = Payment.objects.none()
    write_permission_classes = [IsBillingStaff]

    class InputSerializer(serializers.Serializer):
        invoice = serializers.IntegerField()
        amount = DecimalString(help_text='the net amount received, e.g. "980.00"')
        bank_fee = DecimalString(
            required=False, default="0", help_text="fees deducted on the way (stay owed)"
        )
        received_on = serializers.DateField()
        reference = serializers.CharField(allow_blank=True, max_length=200)

    @extend_schema(
        tags=["payments"],
        parameters=[CLIENT_PARAM],
        responses={200: PaymentSerializer(many=True), **ERRORS_READ},
    )
    def get(self, request):
        """Payments received against the client's invoices, newest first."""
        return self.paginated(
            pages.payment_list(user=request.user, client=_optional_client(request)),
            PaymentSerializer,
        )

    @extend_schema(
        tags=["payments"],
        request=InputSerializer,
        parameters=[KEY_HEADER],
        responses=responses(201, PaymentSerializer),
    )
    def post(self, request):
        """Record money received, in full or in part; a bank fee's shortfall stays owed (art. 4.10).
        Requires Idempotency-Key."""

        def handler():
            key = _require_key(request)
            data = self.input(request)
            invoice = _invoice(request, data["invoice"])
            payment = invoicing.payment_record(
                invoice=invoice,
                amount=data["amount"],
                bank_fee=data["bank_fee"],
                received_on=data["received_on"],
                reference=data["reference"],
                idempotency_key=f"api:{key}",
                acting_user=request.user,
            )
            return self.present(
                pages.payment_get(user=request.user, pk=payment.pk), PaymentSerializer, status=201
            )

        return idempotent(request, handler)


class PaymentDetailApi(Api):
    queryset = Payment.objects.none()

    @extend_schema(tags=["payments"], responses={200: PaymentSerializer, **ERRORS_READ})
    def get(self, request, pk):
        return self.present(pages.payment_get(user=request.user, pk=pk), PaymentSerializer)


# --- Deposits (art. 4.7) -------------------------------------------------------------------
class DepositListApi(Api):
    queryset = Deposit.objects.none()
    write_permission_classes = [IsBillingStaff]

    class InputSerializer(serializers.Serializer):
        client = serializers.IntegerField()
        amount = DecimalString()
        reason = serializers.CharField(required=False, allow_blank=True, default="")

    @extend_schema(
        tags=["deposits"],
        parameters=[CLIENT_PARAM, OpenApiParameter("status", str, enum=Deposit.Status.values)],
        responses={200: DepositSerializer(many=True), **ERRORS_READ},
    )
    def get(self, request):
        """Deposits demanded of the client and their status; no interest is paid (art. 4.7)."""
        return self.paginated(
            pages.deposit_list(
                user=request.user,
                client=_optional_client(request),
                status=_status_param(request, Deposit.Status.values),
            ),
            DepositSerializer,
        )

    @extend_schema(
        tags=["deposits"],
        request=InputSerializer,
        parameters=[KEY_HEADER_OPTIONAL],
        responses=responses(201, DepositSerializer),
    )
    def post(self, request):
        """Staff demand a deposit (art. 4.7); the client is emailed."""

        def handler():
            data = self.input(request)
            client = account_selectors.client_get(user=request.user, pk=data["client"])
            deposit = invoicing.deposit_demand(
                client=client,
                amount=data["amount"],
                reason=data["reason"],
                acting_user=request.user,
            )
            return self.present(deposit, DepositSerializer, status=201)

        return idempotent(request, handler)


class DepositDetailApi(Api):
    queryset = Deposit.objects.none()

    @extend_schema(tags=["deposits"], responses={200: DepositSerializer, **ERRORS_READ})
    def get(self, request, pk):
        return self.present(pages.deposit_get(user=request.user, pk=pk), DepositSerializer)


def _deposit_action(doc: str, call, input_serializer=None):
    """A billing staff action on one deposit (art. 4.7); honours Idempotency-Key."""

    class DepositActionApi(Api):
        queryset = Deposit.objects.none()
        permission_classes = [IsBillingStaff]
        InputSerializer = input_serializer

        @extend_schema(
            tags=["deposits"],
            request=input_serializer,
            parameters=[KEY_HEADER_OPTIONAL],
            responses=responses(200, DepositSerializer),
            description=doc,
        )
        def post(self, request, pk):
            def handler():
                deposit = pages.deposit_get(user=request.user, pk=pk)
                data = self.input(request) if input_serializer is not None else {}
                result = call(deposit=deposit, acting_user=request.user, **data)
                return self.present(result, DepositSerializer)

            return idempotent(request, handler)

    return DepositActionApi


class _DepositAdjustInput(serializers.Serializer):
    amount = DecimalString(help_text="the new amount demanded")
    reason = serializers.CharField(help_text="the consultation behind the adjustment (art. 4.7)")
    amount_held = DecimalString(required=False, allow_null=True, default=None)


class _DepositHeldInput(serializers.Serializer):
    amount_received = DecimalString()


class _DepositRefundInput(serializers.Serializer):
    reference = serializers.CharField(max_length=200, help_text="the refund's bank reference")


_DepositAdjustInput.__name__ = "DepositAdjust"
_DepositHeldInput.__name__ = "DepositMarkHeld"
_DepositRefundInput.__name__ = "DepositRefund"


class DepositAdjustApi(
    _deposit_action(
        "Adjust the deposit after mutual consultation; history keeps every version (art. 4.7).",
        invoicing.deposit_adjust,
        _DepositAdjustInput,
    )
):
    pass


class DepositMarkHeldApi(
    _deposit_action(
        "Record the deposit money received; the deposit is then held (art. 4.7).",
        invoicing.deposit_mark_held,
        _DepositHeldInput,
    )
):
    pass


class DepositSettleApi(
    _deposit_action(
        "On termination, set the deposit off against what is due and owe the rest back within "
        "2 calendar months (art. 4.7).",
        invoicing.deposit_settle,
    )
):
    pass


class DepositRefundApi(
    _deposit_action(
        "Record the refund of a settled deposit (art. 4.7).",
        invoicing.deposit_refund_record,
        _DepositRefundInput,
    )
):
    pass


# --- Set-offs (art. 9.1-9.2) ---------------------------------------------------------------
class SetOffListApi(Api):
    queryset = SetOff.objects.none()
    write_permission_classes = [IsBillingStaff]

    class InputSerializer(serializers.Serializer):
        source = serializers.ChoiceField(choices=SetOff.Source.choices)
        source_id = serializers.IntegerField(
            help_text="the deposit, restitution request or credit note set off"
        )
        invoice = serializers.IntegerField(help_text="the open invoice it is set off against")
        amount = DecimalString()

    @extend_schema(
        tags=["set-offs"],
        parameters=[CLIENT_PARAM],
        responses={200: SetOffSerializer(many=True), **ERRORS_READ},
    )
    def get(self, request):
        """Every set-off of the client, each naming its source and the invoice (art. 9.1)."""
        return self.paginated(
            pages.set_off_list(user=request.user, client=_optional_client(request)),
            SetOffSerializer,
        )

    @extend_schema(
        tags=["set-offs"],
        request=InputSerializer,
        parameters=[KEY_HEADER],
        responses=responses(201, SetOffSerializer),
    )
    def post(self, request):
        """Set off what the provider owes the client against an open invoice, across agreements
        (art. 9.1-9.2). Requires Idempotency-Key."""

        def handler():
            key = _require_key(request)
            data = self.input(request)
            invoice = _invoice(request, data["invoice"])
            model = {
                SetOff.Source.DEPOSIT: Deposit,
                SetOff.Source.RESTITUTION: RestitutionRequest,
                SetOff.Source.CREDIT_NOTE: Invoice,
            }[data["source"]]
            source_obj = account_selectors.scoped_get(
                model.objects.all(), user=request.user, pk=data["source_id"]
            )
            set_off = invoicing.set_off_record(
                client=invoice.client,
                source=data["source"],
                source_obj=source_obj,
                invoice=invoice,
                amount=data["amount"],
                acting_user=request.user,
                idempotency_key=f"api:{key}",
            )
            return self.present(
                pages.set_off_get(user=request.user, pk=set_off.pk), SetOffSerializer, status=201
            )

        return idempotent(request, handler)


class SetOffDetailApi(Api):
    queryset = SetOff.objects.none()

    @extend_schema(tags=["set-offs"], responses={200: SetOffSerializer, **ERRORS_READ})
    def get(self, request, pk):
        return self.present(pages.set_off_get(user=request.user, pk=pk), SetOffSerializer)


# --- Fapiao requests (art. 4.8) ------------------------------------------------------------
class FapiaoRequestListApi(Api):
    queryset = FapiaoRequest.objects.none()

    @extend_schema(
        tags=["fapiao-requests"],
        parameters=[
            CLIENT_PARAM,
            OpenApiParameter("status", str, enum=FapiaoRequest.Status.values),
        ],
        responses={200: FapiaoRequestSerializer(many=True), **ERRORS_READ},
    )
    def get(self, request):
        """Fapiao requests; with `status=requested`, the nearest deadline first (staff's queue)."""
        return self.paginated(
            pages.fapiao_request_list(
                user=request.user,
                client=_optional_client(request),
                status=_status_param(request, FapiaoRequest.Status.values),
            ),
            FapiaoRequestSerializer,
        )


class FapiaoRequestDetailApi(Api):
    queryset = FapiaoRequest.objects.none()

    @extend_schema(
        tags=["fapiao-requests"], responses={200: FapiaoRequestSerializer, **ERRORS_READ}
    )
    def get(self, request, pk):
        return self.present(
            pages.fapiao_request_get(user=request.user, pk=pk), FapiaoRequestSerializer
        )


class FapiaoRequestIssueApi(Api):
    queryset = FapiaoRequest.objects.none()
    permission_classes = [IsBillingStaff]

    class InputSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(choices=FapiaoRequest.Kind.choices)
        number = serializers.CharField(
            help_text="20 digits (fully digital) or 8 digits (paper)", max_length=20
        )
        code = serializers.CharField(
            required=False, allow_blank=True, default="", help_text="paper only: 10 or 12 digits"
        )
        issue_date = serializers.DateField()
        buyer_name = serializers.CharField(max_length=300)
        buyer_tax_id = serializers.CharField(max_length=18, help_text="USCC, 18 characters")
        buyer_address = serializers.CharField(required=False, allow_blank=True, default="")
        buyer_phone = serializers.CharField(required=False, allow_blank=True, default="")
        buyer_bank = serializers.CharField(required=False, allow_blank=True, default="")
        buyer_account = serializers.CharField(required=False, allow_blank=True, default="")
        amount_excl_tax = DecimalString()
        tax_rate = DecimalString(required=False, allow_null=True, default=None)
        tax_amount = DecimalString()
        total = DecimalString()

    @extend_schema(
        tags=["fapiao-requests"],
        request=InputSerializer,
        responses=responses(200, FapiaoRequestSerializer),
    )
    def post(self, request, pk):
        """Record the fapiao issued, its numbers' format checked (art. 4.8)."""
        fapiao = pages.fapiao_request_get(user=request.user, pk=pk)
        data = self.input(request)
        invoicing.fapiao_issue(request=fapiao, acting_user=request.user, **data)
        return self.present(
            pages.fapiao_request_get(user=request.user, pk=pk), FapiaoRequestSerializer
        )


# --- Disputes (art. 10; CX 10) -------------------------------------------------------------
class DisputeListApi(Api):
    queryset = Dispute.objects.none()
    write_permission_classes = [IsClientAdmin]

    class InputSerializer(serializers.Serializer):
        invoice = serializers.IntegerField()
        amount = DecimalString(help_text="the disputed amount, including VAT")
        reason = serializers.CharField(help_text="the motivated complaint (art. 10.1)")

    @extend_schema(
        tags=["disputes"],
        parameters=[CLIENT_PARAM, OpenApiParameter("status", str, enum=Dispute.Status.values)],
        responses={200: DisputeSerializer(many=True), **ERRORS_READ},
    )
    def get(self, request):
        return self.paginated(
            pages.dispute_list(
                user=request.user,
                client=_optional_client(request),
                status=_status_param(request, Dispute.Status.values),
            ),
            DisputeSerializer,
        )

    @extend_schema(
        tags=["disputes"], request=InputSerializer, responses=responses(201, DisputeSerializer)
    )
    def post(self, request):
        """A client admin disputes an invoice within its payment term (art. 10.1); admissibility
        and withholding follow the profile (CX 10, art. 10.2)."""
        data = self.input(request)
        invoice = _invoice(request, data["invoice"])
        dispute = invoicing.dispute_raise(
            invoice=invoice, amount=data["amount"], reason=data["reason"], acting_user=request.user
        )
        return self.present(
            pages.dispute_get(user=request.user, pk=dispute.pk), DisputeSerializer, status=201
        )


class DisputeDetailApi(Api):
    queryset = Dispute.objects.none()

    @extend_schema(tags=["disputes"], responses={200: DisputeSerializer, **ERRORS_READ})
    def get(self, request, pk):
        return self.present(pages.dispute_get(user=request.user, pk=pk), DisputeSerializer)


class DisputeEscalateApi(Api):
    queryset = Dispute.objects.none()
    permission_classes = [IsBillingStaff]

    class InputSerializer(serializers.Serializer):
        expert_name = serializers.CharField(max_length=200)
        cost_agreement = serializers.CharField(help_text="the agreement on the expert's costs")

    @extend_schema(
        tags=["disputes"], request=InputSerializer, responses=responses(200, DisputeSerializer)
    )
    def post(self, request, pk):
        """Record the external expert, no earlier than 20 working days after the due date (art. 10.2)."""
        dispute = pages.dispute_get(user=request.user, pk=pk)
        data = self.input(request)
        invoicing.dispute_escalate(dispute=dispute, acting_user=request.user, **data)
        return self.present(pages.dispute_get(user=request.user, pk=pk), DisputeSerializer)


class DisputeResolveApi(Api):
    queryset = Dispute.objects.none()
    permission_classes = [IsBillingStaff]

    class InputSerializer(serializers.Serializer):
        granted_amount = DecimalString(help_text='"0" rejects; more issues a credit note')
        resolution = serializers.CharField(help_text="the reasons; the client sees them")

    @extend_schema(
        tags=["disputes"],
        request=InputSerializer,
        parameters=[KEY_HEADER_OPTIONAL],
        responses=responses(200, DisputeSerializer),
    )
    def post(self, request, pk):
        """Resolve: a credit note for what is granted, or a rejection with reasons (art. 10.2)."""

        def handler():
            dispute = pages.dispute_get(user=request.user, pk=pk)
            data = self.input(request)
            invoicing.dispute_resolve(dispute=dispute, acting_user=request.user, **data)
            return self.present(pages.dispute_get(user=request.user, pk=pk), DisputeSerializer)

        return idempotent(request, handler)


# --- Interest rates (art. 4.6) and prices (art. 4.3, 4.11) ---------------------------------
class InterestRateListApi(Api):
    queryset = InterestRate.objects.none()
    permission_classes = [IsBillingStaff]

    class InputSerializer(serializers.Serializer):
        provider = serializers.SlugField(help_text="the profile's code, e.g. cm-cn")
        valid_from = serializers.DateField()
        annual_rate_pct = DecimalString(help_text="statutory commercial interest, percent a year")
        note = serializers.CharField(required=False, allow_blank=True, default="")

    @extend_schema(
        tags=["interest-rates"],
        parameters=[OpenApiParameter("provider", str, description="a profile's code")],
        responses={200: InterestRateSerializer(many=True), **ERRORS_READ},
    )
    def get(self, request):
        """The dated table of late-interest rates per profile (art. 4.6)."""
        return self.paginated(
            pages.interest_rate_list(provider_code=request.query_params.get("provider", "")),
            InterestRateSerializer,
        )

    @extend_schema(
        tags=["interest-rates"],
        request=InputSerializer,
        responses=responses(201, InterestRateSerializer),
    )
    def post(self, request):
        data = self.input(request)
        provider = Provider.objects.filter(code=data["provider"]).first()
        if provider is None:
            raise ValidationFailed({"provider": ["No provider profile has this code."]})
        rate = invoicing.interest_rate_enter(
            provider=provider,
            valid_from=data["valid_from"],
            annual_rate_pct=data["annual_rate_pct"],
            note=data["note"],
            acting_user=request.user,
        )
        return self.present(rate, InterestRateSerializer, status=201)


class PriceListApi(Api):
    queryset = Price.objects.none()
    write_permission_classes = [IsBillingStaff]

    class InputSerializer(serializers.Serializer):
        client = serializers.IntegerField()
        channel = serializers.ChoiceField(choices=UsageRecord.Channel.choices)
        unit_price = DecimalString(help_text="per message, excluding VAT, up to 6 decimals")
        valid_from = serializers.DateField()
        fixed = serializers.BooleanField(required=False, default=False)
        agreement_reference = serializers.CharField(
            required=False,
            allow_blank=True,
            default="",
            help_text="the written agreement, required for a fixed price (art. 4.3)",
        )

    @extend_schema(
        tags=["prices"],
        parameters=[CLIENT_PARAM],
        responses={200: PriceSerializer(many=True), **ERRORS_READ},
    )
    def get(self, request):
        """The client's price list per channel, newest first."""
        return self.paginated(
            pages.price_list(user=request.user, client=_optional_client(request)), PriceSerializer
        )

    @extend_schema(
        tags=["prices"], request=InputSerializer, responses=responses(201, PriceSerializer)
    )
    def post(self, request):
        """Set a price from a day; a fixed price changes only by written agreement (art. 4.3)."""
        data = self.input(request)
        client = account_selectors.client_get(user=request.user, pk=data.pop("client"))
        price = invoicing.price_set(client=client, acting_user=request.user, **data)
        return self.present(price, PriceSerializer, status=201)
