"""Page forms of the prepaid side: they check the shape of the input; the services check the rules."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.kernel.forms import DATETIME_LOCAL, INPUT_STYLE, OneTimeKeyMixin
from accounts.kernel.money import MAX_DIGITS
from billing.models import LedgerEntry


# --- Client ---------------------------------------------------------------------------------
class LedgerFilterForm(forms.Form):
    kind = forms.ChoiceField(
        required=False, choices=[("", _("Any kind")), *LedgerEntry.Kind.choices], label=_("Kind")
    )
    date_from = forms.DateField(
        required=False,
        label=_("From"),
        widget=forms.DateInput(attrs={"type": "date", "style": INPUT_STYLE}),
    )
    date_to = forms.DateField(
        required=False,
        label=_("To"),
        widget=forms.DateInput(attrs={"type": "date", "style": INPUT_STYLE}),
    )

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", _("The end date is before the start date."))
        return data


class LimitIncreaseRequestForm(forms.Form):
    requested_limit = forms.IntegerField(
        label=_("New limit (messages)"),
        min_value=1,
        help_text=_("Unpaid messages the account may have outstanding (art. 26.2)."),
    )
    reason = forms.CharField(label=_("Why you need it"), widget=forms.Textarea(attrs={"rows": 3}))


class RestitutionRequestForm(forms.Form):
    reason = forms.CharField(
        label=_("Your written request"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "Remaining unexpired credit is restituted; expired credit is not (art. 29.3, 29.6)."
        ),
    )


# --- Staff ----------------------------------------------------------------------------------
class TopUpForm(OneTimeKeyMixin):
    amount = forms.DecimalField(
        max_digits=MAX_DIGITS, decimal_places=2, min_value=Decimal("0.01"), label=_("Amount")
    )
    received_at = forms.DateTimeField(
        label=_("Received at"),
        input_formats=[DATETIME_LOCAL, "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
        widget=forms.DateTimeInput(
            attrs={"type": "datetime-local", "style": INPUT_STYLE + ";width:100%"},
            format=DATETIME_LOCAL,
        ),
    )
    reference = forms.CharField(label=_("Payment reference"), max_length=200)

    def __init__(self, *args, provider, currency: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.tz = ZoneInfo(provider.timezone)
        # the agreed currency (art. 4.1 / CX 3), the profile's when none is given
        self.fields["amount"].label = _("Amount (%(currency)s)") % {
            "currency": currency or provider.currency
        }
        self.fields[
            "received_at"
        ].help_text = f"Local time, {provider.timezone}. Usable from the next day (art. 29.3)."
        if not self.is_bound:
            # naive local wall time: the widget would show an aware value in the server's zone
            now = timezone.now().astimezone(self.tz).replace(second=0, microsecond=0)
            self.initial.setdefault("received_at", now.replace(tzinfo=None))

    def clean_received_at(self):
        value = self.cleaned_data["received_at"]
        # The field reads wall time in the server's zone; it is the provider's local time.
        local = timezone.make_naive(value).replace(tzinfo=self.tz)
        if local > timezone.now() + dt.timedelta(minutes=5):
            raise forms.ValidationError(_("A payment cannot be received in the future."))
        return local


class ChargebackForm(forms.Form):
    """Art. 29.4: a chargeback closes the client's account and turns the used credit
    into an amount due, so staff confirm that consequence before it is recorded."""

    reference = forms.CharField(label=_("Chargeback reference"), max_length=200)
    reason = forms.CharField(
        label=_("Reason"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    confirm = forms.BooleanField(
        label=_(
            "I understand that the client's account will be closed and that the credit "
            "already used becomes an amount due (art. 29.4)."
        ),
        error_messages={
            "required": _(
                "Confirm that the account will be closed and the used credit becomes an "
                "amount due before recording the chargeback."
            )
        },
    )


class ReopenForm(forms.Form):
    reason = forms.CharField(
        label=_("Why the account reopens"), widget=forms.Textarea(attrs={"rows": 2})
    )
    activation_cost = forms.DecimalField(
        label=_("Activation costs"),
        required=False,
        min_value=0,
        max_digits=14,
        decimal_places=2,
        help_text=_("charged to the client on resumption, excluding VAT (art. 7.3); empty: none"),
    )


class LimitChangeForm(forms.Form):
    new_limit = forms.IntegerField(label=_("New limit (messages)"), min_value=1)
    reason = forms.CharField(
        label=_("Reason"),
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Takes effect at once; the client is emailed (art. 26.2)."),
    )


class MessagesPaidForm(OneTimeKeyMixin):
    messages = forms.IntegerField(label=_("Messages paid"), min_value=1)
    reference = forms.CharField(label=_("Payment reference"), max_length=200, required=False)


class ApproveForm(forms.Form):
    note = forms.CharField(
        required=False, label=_("Note"), widget=forms.Textarea(attrs={"rows": 2})
    )


class RefuseForm(forms.Form):
    note = forms.CharField(
        label=_("Reason"),
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("The client sees it."),
    )
