"""Page forms of invoicing: they check the shape of the input; billing.invoicing.services check
the rules."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.forms import ClientField, UserScopedForm
from accounts.kernel.forms import INPUT_STYLE, OneTimeKeyMixin
from accounts.kernel.l10n import money
from accounts.kernel.money import MAX_DIGITS
from accounts.models import Client, Provider
from billing.models import FapiaoRequest, Invoice, UsageRecord

from .services.fapiao import BUYER_LIMITS, fapiao_buyer_initial
from .services.prices import LEGAL_CAUSE_CHOICES as LEGAL_PRICE_CAUSES

DATE = {"type": "date", "style": INPUT_STYLE}
LINES = 3


def _money_field(label, **kwargs) -> forms.DecimalField:
    return forms.DecimalField(max_digits=MAX_DIGITS, decimal_places=2, label=label, **kwargs)


# --- Client ---------------------------------------------------------------------------------
class InvoiceFilterForm(forms.Form):
    status = forms.ChoiceField(
        required=False, choices=[("", _("Any state")), *Invoice.Status.choices], label=_("State")
    )
    period = forms.CharField(
        required=False,
        label=_("Month"),
        help_text=_("of the invoice date"),
        widget=forms.TextInput(attrs={"type": "month", "style": INPUT_STYLE}),
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "id_filter_%s")
        super().__init__(*args, **kwargs)

    def clean_period(self):
        value = self.cleaned_data["period"]
        if not value:
            return None
        try:
            first = dt.date.fromisoformat(f"{value}-01")
        except ValueError:
            raise forms.ValidationError(_("Give a month, YYYY-MM.")) from None
        last = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
        return first, last

    def filters(self) -> dict:
        if not self.is_bound or not self.is_valid():
            return {}
        result = {}
        if self.cleaned_data.get("status"):
            result["status"] = self.cleaned_data["status"]
        if self.cleaned_data.get("period"):
            result["date_from"], result["date_to"] = self.cleaned_data["period"]
        return result


class DisputeForm(forms.Form):
    amount = _money_field(_("Disputed amount"), min_value=Decimal("0.01"))
    reason = forms.CharField(
        label=_("Motivated complaint"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Say what is wrong and why (art. 10.1)."),
    )

    def __init__(self, *args, invoice: Invoice | None = None, **kwargs):
        kwargs.setdefault("prefix", "dispute")
        super().__init__(*args, **kwargs)
        if invoice is not None:
            self.fields["amount"].label = _("Disputed amount (%(currency)s, incl. VAT)") % {
                "currency": invoice.currency
            }


# --- Staff ----------------------------------------------------------------------------------
class DraftInvoiceForm(UserScopedForm):
    client = ClientField(
        queryset=Client.objects.filter(status=Client.Status.ACTIVE), label=_("Client")
    )
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    payment_term_days = forms.IntegerField(
        label=_("Payment term of this invoice (days)"),
        required=False,
        min_value=1,
        max_value=365,
        help_text=_("empty: the agreement's term, else the profile's 14 days (art. 4.5, 4.8)"),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for n in range(1, LINES + 1):
            required = n == 1
            self.fields[f"description_{n}"] = forms.CharField(
                required=required, max_length=300, label=_("Line %(n)s: description") % {"n": n}
            )
            self.fields[f"quantity_{n}"] = forms.DecimalField(
                required=required, decimal_places=3, max_digits=14, label=_("Quantity"), initial=1
            )
            self.fields[f"unit_price_{n}"] = forms.DecimalField(
                required=required,
                decimal_places=6,
                max_digits=14,
                label=_("Unit price excl. VAT"),
            )
            self.fields[f"vat_rate_{n}"] = forms.DecimalField(
                required=False,
                decimal_places=2,
                max_digits=5,
                label=_("VAT %"),
                help_text=_("empty: the profile's rate") if n == 1 else "",
            )

    def line_groups(self):
        """The bound fields per line, for the template."""
        return [
            [self[f"{name}_{n}"] for name in ("description", "quantity", "unit_price", "vat_rate")]
            for n in range(1, LINES + 1)
        ]

    def lines(self) -> list[dict]:
        rows = []
        for n in range(1, LINES + 1):
            description = self.cleaned_data.get(f"description_{n}")
            if not description:
                continue
            row = {
                "description": description,
                "quantity": self.cleaned_data.get(f"quantity_{n}") or Decimal("1"),
                "unit_price": self.cleaned_data.get(f"unit_price_{n}"),
            }
            if self.cleaned_data.get(f"vat_rate_{n}") is not None:
                row["vat_rate"] = self.cleaned_data[f"vat_rate_{n}"]
            rows.append(row)
        return rows

    def clean(self):
        data = super().clean()
        for n in range(2, LINES + 1):
            if data.get(f"description_{n}") and data.get(f"unit_price_{n}") is None:
                self.add_error(f"unit_price_{n}", "Give the unit price of this line.")
        return data


class IssueForm(forms.Form):
    invoice_date = forms.DateField(
        required=False,
        label=_("Invoice date"),
        help_text=_("today when empty; the due date follows from the payment term (art. 4.5)"),
        widget=forms.DateInput(attrs=DATE),
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("prefix", "issue")
        super().__init__(*args, **kwargs)


class VoidForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_(
            "The client sees it; an issued invoice is cancelled by a credit note (art. 4.1)."
        ),
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("prefix", "void")
        super().__init__(*args, **kwargs)


class PaymentForm(OneTimeKeyMixin):
    amount = _money_field(_("Net amount received"), min_value=Decimal("0.01"))
    bank_fee = _money_field(
        "Bank fee deducted",
        min_value=Decimal("0"),
        required=False,
        initial=Decimal("0"),
        help_text=_("kept for the record; the shortfall stays owed (art. 4.10)"),
    )
    received_on = forms.DateField(label=_("Received on"), widget=forms.DateInput(attrs=DATE))
    reference = forms.CharField(label=_("Payment reference"), max_length=200, required=False)
    excess_to_credit = forms.BooleanField(
        label=_("Credit any excess to the client"),
        required=False,
        help_text=_(
            "more than is outstanding becomes the client's credit, to set off or refund (art. 9.1)"
        ),
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("prefix", "payment")
        super().__init__(*args, **kwargs)


class DepositDemandForm(UserScopedForm):
    client = ClientField(
        queryset=Client.objects.filter(status=Client.Status.ACTIVE), label=_("Client")
    )
    amount = _money_field(_("Amount"), min_value=Decimal("0.01"))
    reason = forms.CharField(
        label=_("Reason"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("prefix", "demand")
        super().__init__(*args, **kwargs)


class DepositHeldForm(forms.Form):
    amount_received = _money_field(_("Amount received"), min_value=Decimal("0.01"))


class DepositAdjustForm(forms.Form):
    amount = _money_field(_("New amount demanded"), min_value=Decimal("0.01"))
    amount_held = _money_field(_("Amount held"), min_value=Decimal("0"), required=False)
    reason = forms.CharField(
        label=_("Consultation"), help_text=_("the mutual consultation behind it (art. 4.7)")
    )


class DepositSettleForm(forms.Form):
    """Nothing to fill in: settling sets the deposit off against what is due (art. 4.7)."""


class DepositRefundForm(forms.Form):
    reference = forms.CharField(label=_("Refund reference"), max_length=200)


DEPOSIT_ACTIONS = {
    "mark-held": DepositHeldForm,
    "adjust": DepositAdjustForm,
    "settle": DepositSettleForm,
    "refund": DepositRefundForm,
}
# What the flash message says was recorded, per action.
DEPOSIT_ACTION_LABELS = {
    "mark-held": _("mark held"),
    "adjust": _("adjustment"),
    "settle": _("settlement"),
    "refund": _("refund"),
}


class SetOffClientForm(forms.Form):
    """Which client a set-off is for: found by number or name, never a list of every client."""

    client = ClientField(label=_("Client"))


class SetOffForm(OneTimeKeyMixin):
    """A set-off for one client (art. 9.1): what the provider owes that client and the
    client's open invoice, both picked from that client's rows only."""

    source = forms.ChoiceField(label=_("What the provider owes"))
    invoice = forms.TypedChoiceField(label=_("Against invoice"), coerce=int)
    amount = _money_field(_("Amount"), min_value=Decimal("0.01"))

    SOURCE_GROUPS = [
        ("deposit", "deposits", _("Deposits held")),
        ("restitution", "restitutions", _("Approved restitutions")),
        ("credit_note", "credit_notes", _("Credit notes")),
        ("client_credit", "client_credits", _("Client credit")),
    ]

    def __init__(self, *args, sources: dict, invoices: list, **kwargs):
        super().__init__(*args, **kwargs)
        groups = []
        for kind, key, title in self.SOURCE_GROUPS:
            rows = [
                (f"{kind}:{obj.pk}", self._source_label(kind, obj, available))
                for obj, available in sources.get(key, [])
            ]
            if rows:
                groups.append((title, rows))
        source_field = self.fields["source"]
        invoice_field = self.fields["invoice"]
        assert isinstance(source_field, forms.ChoiceField)
        assert isinstance(invoice_field, forms.ChoiceField)
        source_field.choices = [("", "---------"), *groups]
        invoice_field.choices = [("", "---------")] + [
            (
                inv.pk,
                _("%(number)s, %(amount)s outstanding")
                % {"number": inv.number, "amount": money(outstanding, inv.currency)},
            )
            for inv, outstanding in invoices
        ]

    @staticmethod
    def _source_label(kind: str, obj, available) -> str:
        amount = money(available, obj.currency)
        if kind == "deposit":
            return _("Deposit #%(id)s, %(amount)s held") % {"id": obj.pk, "amount": amount}
        if kind == "restitution":
            return _("Restitution #%(id)s, %(amount)s approved") % {"id": obj.pk, "amount": amount}
        if kind == "credit_note":
            return _("Credit note %(number)s, %(amount)s left") % {
                "number": obj.number,
                "amount": amount,
            }
        return _("Client credit #%(id)s, %(amount)s balance") % {"id": obj.pk, "amount": amount}

    def clean_source(self):
        kind, _sep, pk = self.cleaned_data["source"].partition(":")
        self.cleaned_data["source_id"] = int(pk)
        return kind


class EscalateForm(forms.Form):
    expert_name = forms.CharField(label=_("External expert"), max_length=200)
    cost_agreement = forms.CharField(
        label=_("Agreement on costs"), widget=forms.Textarea(attrs={"rows": 2})
    )


class ResolveForm(forms.Form):
    granted_amount = _money_field(
        "Granted (incl. VAT)", min_value=Decimal("0"), help_text=_("0 rejects the dispute")
    )
    resolution = forms.CharField(
        label=_("Reasons"),
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("the client sees them"),
    )


class FapiaoIssueForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=FapiaoRequest.Kind.choices)
    number = forms.CharField(
        max_length=20,
        label=_("Fapiao number"),
        help_text=_("20 digits (fully digital) or 8 (paper)"),
    )
    code = forms.CharField(
        max_length=12,
        required=False,
        label=_("Fapiao code"),
        help_text=_("paper only: 10 or 12 digits"),
    )
    issue_date = forms.DateField(label=_("Issue date"), widget=forms.DateInput(attrs=DATE))
    buyer_name = forms.CharField(label=_("Buyer name"), max_length=300)
    buyer_tax_id = forms.CharField(max_length=18, label=_("Buyer taxpayer ID (USCC)"))
    buyer_address = forms.CharField(label=_("Buyer address"), max_length=300, required=False)
    buyer_phone = forms.CharField(label=_("Buyer phone"), max_length=50, required=False)
    buyer_bank = forms.CharField(label=_("Buyer bank"), max_length=200, required=False)
    buyer_account = forms.CharField(label=_("Buyer account"), max_length=50, required=False)
    amount_excl_tax = _money_field(_("Amount excl. tax"))
    tax_amount = _money_field(_("Tax"))
    total = _money_field(_("Total"))

    def __init__(self, *args, request: FapiaoRequest | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if request is not None and not self.is_bound:
            invoice = request.invoice
            # The buyer's details the client confirmed with its request, else the client's
            # registration details.
            buyer = {name: getattr(request, name) for name in BUYER_LIMITS}
            for name, value in fapiao_buyer_initial(invoice).items():
                buyer[name] = buyer[name] or value
            self.initial.update(
                **buyer,
                amount_excl_tax=invoice.subtotal,
                tax_amount=invoice.vat_amount,
                total=invoice.subtotal + invoice.vat_amount,
                issue_date=dt.date.today(),
            )


class FapiaoConfirmForm(forms.Form):
    """The client's written confirmation for a fapiao (art. 4.8), with the buyer's details
    prefilled from its registration (`fapiao_buyer_initial`) to confirm or correct."""

    buyer_name = forms.CharField(label=_("Buyer name"), max_length=300)
    buyer_tax_id = forms.CharField(max_length=18, label=_("Buyer taxpayer ID (USCC)"))
    buyer_address = forms.CharField(label=_("Buyer address"), max_length=300, required=False)
    buyer_phone = forms.CharField(label=_("Buyer phone"), max_length=50, required=False)
    buyer_bank = forms.CharField(label=_("Buyer bank"), max_length=200, required=False)
    buyer_account = forms.CharField(label=_("Buyer account"), max_length=50, required=False)

    def __init__(self, *args, invoice: Invoice | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if invoice is not None and not self.is_bound:
            self.initial.update(fapiao_buyer_initial(invoice))


class StatementUploadForm(forms.Form):
    file = forms.FileField(
        label=_("Statement file"),
        help_text=_("ISO 20022 camt.053 or camt.054 XML, or SWIFT MT940, as the bank exports it."),
    )


class StatementAssignForm(forms.Form):
    invoice = forms.CharField(
        label=_("Invoice number or payment reference"), max_length=40, strip=True
    )


class StatementClientForm(forms.Form):
    client = forms.CharField(
        label=_("Client number or reference"),
        max_length=40,
        strip=True,
        help_text=_("a prepaid client's wallet is topped up, any other client's credit grows"),
    )


class CreditRefundForm(OneTimeKeyMixin):
    amount = forms.DecimalField(
        max_digits=MAX_DIGITS,
        decimal_places=2,
        label=_("Amount refunded"),
        min_value=Decimal("0.01"),
    )
    reference = forms.CharField(
        label=_("Transfer reference"),
        max_length=200,
        help_text=_("how the money went back to the client, e.g. the bank transfer"),
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("prefix", "refund")
        super().__init__(*args, **kwargs)


class StatementRefundForm(forms.Form):
    note = forms.CharField(label=_("How it was refunded"), max_length=300, strip=True)


# --- Prices and rates (art. 4.4, 4.6, 4.11) -----------------------------------------------------
class _ProviderForm(forms.Form):
    """A form on a provider-wide table: the profiles the staff member works on only."""

    def __init__(self, *args, providers=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["provider"].queryset = (
            providers if providers is not None else Provider.objects.none()
        )


class InterestRateForm(_ProviderForm):
    provider = forms.ModelChoiceField(queryset=Provider.objects.none(), label=_("Profile"))
    valid_from = forms.DateField(
        label=_("In force from"),
        widget=forms.DateInput(attrs=DATE),
        help_text=_("cxengage-nl: 1 January or 1 July (art. 6:119a BW)"),
    )
    annual_rate_pct = forms.DecimalField(
        max_digits=6, decimal_places=3, label=_("Annual rate, %"), min_value=Decimal("0")
    )
    note = forms.CharField(required=False, max_length=200, label=_("Source or note"))

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("prefix", "rate")
        super().__init__(*args, **kwargs)


class ExchangeRateForm(forms.Form):
    """A rate entered by staff, the fallback of the daily ECB import (CX 10 dispute minimum)."""

    base_currency = forms.CharField(label=_("Currency"), max_length=3, initial="EUR")
    quote_currency = forms.CharField(
        label=_("Quoted in"), max_length=3, initial="USD", help_text=_("e.g. USD or CNY")
    )
    rate = forms.DecimalField(
        label=_("Rate"),
        max_digits=20,
        decimal_places=10,
        help_text=_("units of the quoted currency for one unit of the currency"),
    )
    valid_from = forms.DateField(label=_("In force from"), widget=forms.DateInput(attrs=DATE))
    note = forms.CharField(label=_("Source or note"), required=False, max_length=200)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("prefix", "fx")
        super().__init__(*args, **kwargs)


class CpiRateForm(_ProviderForm):
    provider = forms.ModelChoiceField(queryset=Provider.objects.none(), label=_("Profile"))
    year = forms.IntegerField(
        min_value=2000, max_value=2100, label=_("Applied in January of"), help_text=_("e.g. 2027")
    )
    rate_pct = forms.DecimalField(max_digits=6, decimal_places=3, label=_("National CPI change, %"))

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("prefix", "cpi")
        super().__init__(*args, **kwargs)


class PriceChangeForm(forms.Form):
    """A change for a cause of art. 4.4 (the service checks the cause, the date and the price)."""

    channel = forms.ChoiceField(choices=UsageRecord.Channel.choices)
    unit_price = forms.DecimalField(
        max_digits=14, decimal_places=6, label=_("New unit price excl. VAT"), min_value=Decimal("0")
    )
    valid_from = forms.DateField(
        label=_("Takes effect on"), widget=forms.DateInput(attrs=DATE), help_text=_("after today")
    )
    cause = forms.ChoiceField(choices=LEGAL_PRICE_CAUSES, label=_("Cause (art. 4.4)"))
    explanation = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        label=_("What changed"),
        help_text=_("the client reads it"),
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("prefix", "change")
        super().__init__(*args, **kwargs)
