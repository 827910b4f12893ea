"""Forms of the premium-services pages: they check the shape; `billing.premium.services` checks the
rules (CX Part V)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.forms import ClientField, UserScopedForm
from accounts.kernel.forms import OneTimeKeyMixin
from accounts.models import Client
from billing.models import PremiumLedgerEntry

from .services import DEDUCTIONS

_TEXT3 = forms.Textarea(attrs={"rows": 3})
_DATE = forms.DateInput(attrs={"type": "date"})
Kind = PremiumLedgerEntry.Kind


def _amount(label, required=True):
    return forms.DecimalField(
        label=label, required=required, min_value=0, decimal_places=2, max_digits=14
    )


class StatementForm(UserScopedForm):
    """Staff open a statement for one client, operator and period."""

    client = ClientField(
        queryset=Client.objects.exclude(status=Client.Status.DELETED).filter(
            provider__offers_premium_services=True
        )
    )
    operator = forms.CharField(max_length=100, label=_("Operator"))
    period_start = forms.DateField(widget=_DATE, label=_("Period from"))
    period_end = forms.DateField(widget=_DATE, label=_("Period to"))
    currency = forms.CharField(
        max_length=3, required=False, label=_("Currency"), help_text=_("The provider's if empty.")
    )


class ReceiptForm(OneTimeKeyMixin):
    amount = _amount(_("Received from the operator"))
    operator_billed = _amount(_("Billed by the operator to end users"), required=False)
    received_on = forms.DateField(widget=_DATE, label=_("Received on"))
    reference = forms.CharField(max_length=200, required=False, label=_("Reference"))


class ChargebackForm(OneTimeKeyMixin):
    amount = _amount(_("Chargeback"))
    fee = _amount(_("Fee charged for it"), required=False)
    occurred_on = forms.DateField(widget=_DATE, label=_("Charged back on"))
    end_user_reference = forms.CharField(max_length=200, label=_("End user's transaction"))


class DeductionForm(OneTimeKeyMixin):
    kind = forms.ChoiceField(
        choices=[(k, Kind(k).label) for k in DEDUCTIONS if k != Kind.CHARGEBACK],
        label=_("Deduction"),
    )
    amount = _amount(_("Amount"))
    occurred_on = forms.DateField(widget=_DATE, label=_("Date"))
    note = forms.CharField(widget=_TEXT3, label=_("What it is for"))


class RefundCampaignForm(OneTimeKeyMixin):
    misconduct = forms.CharField(widget=_TEXT3, label=_("The misconduct"))
    occurred_on = forms.DateField(widget=_DATE, label=_("Date"))


class OffsetForm(OneTimeKeyMixin):
    invoice = forms.IntegerField(min_value=1, label=_("Invoice id"))
    amount = _amount(_("Amount"))


class PayoutForm(OneTimeKeyMixin):
    amount = _amount(_("Amount"))
    paid_on = forms.DateField(widget=_DATE, label=_("Paid on"))
    reference = forms.CharField(max_length=200, required=False, label=_("Payment reference"))


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        if isinstance(data, (list, tuple)):
            return [super(MultipleFileField, self).clean(d, initial) for d in data]
        return [super().clean(data, initial)] if data else []


class DisputeForm(forms.Form):
    reason = forms.CharField(widget=_TEXT3, label=_("What is wrong with the payment"))
    amount_claimed = _amount(_("Amount you claim"), required=False)
    documents = MultipleFileField(
        required=False,
        label=_("Supporting documents"),
        help_text=_("PDF, PNG or JPEG; at least one (CX Part V)."),
    )


class ResolveForm(forms.Form):
    decision = forms.ChoiceField(
        choices=[("upheld", _("Uphold")), ("rejected", _("Reject"))], label=_("Decision")
    )
    resolution = forms.CharField(widget=_TEXT3, label=_("Answer in writing"))


class ServiceChangeForm(forms.Form):
    service = forms.CharField(max_length=200, label=_("End-user service"))
    change = forms.CharField(widget=_TEXT3, label=_("The change"))
    effective_on = forms.DateField(widget=_DATE, label=_("Takes effect on"))
