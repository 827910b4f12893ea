"""Page forms of data processing: they check the shape of the input; the services check the rules."""

from zoneinfo import ZoneInfo

from django import forms
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.forms import ClientField, ClientsField, UserScopedForm, scope_choices
from accounts.models import Client, Provider

from .models import (
    DSR_DUE_SOON_DAYS,
    AssistanceRequest,
    AuditRequest,
    DataSubjectRequest,
    ProcessingRecord,
    SubProcessor,
    SubProcessorChange,
    SubProcessorObjection,
)
from .services.sub_processors import active_from_refused as services_active_from_refused

_DATE = forms.DateInput(attrs={"type": "date"})
_DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
_TEXT2 = forms.Textarea(attrs={"rows": 2})
_TEXT3 = forms.Textarea(attrs={"rows": 3})


def _as_local(value, tz_name: str):
    """The field read a wall time in the server's zone (UTC); it is the provider's local time."""
    if value is None:
        return None
    return timezone.localtime(value).replace(tzinfo=None).replace(tzinfo=ZoneInfo(tz_name))


def _datetime_field(**kwargs) -> forms.DateTimeField:
    return forms.DateTimeField(
        widget=_DATETIME, input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"], **kwargs
    )


class ClientChoiceMixin:
    """Staff act for a client they name; a client user always acts for its own client."""

    def _with_client_field(self, user, required=True):
        if user.is_provider_staff:
            self.fields["client"] = ClientField(
                label=_("Client"),
                queryset=Client.objects.filter(status=Client.Status.ACTIVE),
                required=required,
            )
            scope_choices(self, user)
            self.order_fields(["client", *[f for f in self.fields if f != "client"]])


# --- Sub-processors (art. 21.9, 21.10) -----------------------------------------------------
class SubProcessorForm(UserScopedForm):
    """A register entry; the service checks it (the safeguard rule of art. 21.10 included)."""

    provider = forms.ModelChoiceField(
        label=_("Provider"), queryset=Provider.objects.all(), empty_label=None
    )
    name = forms.CharField(label=_("Name"), max_length=200)
    kind = forms.ChoiceField(label=_("Kind"), choices=SubProcessor.Kind.choices)
    country = forms.CharField(
        label=_("Country"),
        max_length=2,
        help_text=_("Two-letter ISO code."),
        widget=forms.TextInput(attrs={"size": 3, "style": "text-transform:uppercase"}),
    )
    services = forms.CharField(label=_("Services performed"), widget=_TEXT2)
    agreement_date = forms.DateField(label=_("Written agreement date"), widget=_DATE)
    agreement_document = forms.FileField(label=_("Agreement document"), required=False)
    in_eea = forms.NullBooleanField(
        label=_("In the EEA"),
        required=False,
        help_text=_("Unknown: derived from the country."),
    )
    safeguard = forms.ChoiceField(
        label=_("Safeguard"),
        choices=SubProcessor.Safeguard.choices,
        required=False,
        help_text=_("Required for a transfer outside the EEA (art. 21.10, GDPR art. 46)."),
    )
    active_to = forms.DateField(label=_("Active to"), required=False, widget=_DATE)

    def clean(self):
        """Active from is not a field here: an entry becomes active only when its announced
        change's notice has run (GDPR art. 28(2), art. 21.9); a posted value is refused."""
        cleaned = super().clean()
        if self.data.get(self.add_prefix("active_from")):
            self.add_error(None, services_active_from_refused().errors["active_from"][0])
        return cleaned


class SubProcessorAnnounceForm(UserScopedForm):
    provider = forms.ModelChoiceField(
        label=_("Provider"), queryset=Provider.objects.all(), empty_label=None
    )
    kind = forms.ChoiceField(label=_("Kind"), choices=SubProcessorChange.Kind.choices)
    sub_processor = forms.ModelChoiceField(
        label=_("Sub processor"),
        queryset=SubProcessor.objects.all(),
        help_text=_("The sub-processor to be added."),
    )
    replaces = forms.ModelChoiceField(
        label=_("Replaces"),
        queryset=SubProcessor.objects.all(),
        required=False,
        help_text=_("For a replacement."),
    )
    description = forms.CharField(label=_("Description"), required=False, widget=_TEXT2)


class ObjectionForm(forms.Form):
    reason = forms.CharField(
        label=_("Why you object"),
        widget=_TEXT2,
        help_text=_("Staff will contact you to resolve it."),
    )


class ResolutionForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("Decision"), choices=SubProcessorObjection.Decision.choices
    )
    resolution = forms.CharField(
        label=_("Answer to the client"),
        widget=_TEXT2,
        help_text=_("Why, and what follows; the client reads it in the portal."),
    )


# --- Audits (art. 21.7) --------------------------------------------------------------------
class AuditRequestForm(ClientChoiceMixin, forms.Form):
    kind = forms.ChoiceField(
        label=_("Kind"), choices=AuditRequest.Kind.choices, initial=AuditRequest.Kind.AUDIT
    )
    proposed_start = forms.DateField(
        label=_("Proposed start"),
        required=False,
        widget=_DATE,
        help_text=_("At least 10 working days from today (art. 21.7.2). For an audit only."),
    )
    auditor_name = forms.CharField(label=_("Auditor name"), max_length=200, required=False)
    auditor_firm = forms.CharField(label=_("Auditor firm"), max_length=200, required=False)
    auditor_accredited = forms.BooleanField(
        required=False, label=_("The auditor is an accredited external expert (art. 21.7.2).")
    )
    auditor_not_competitor = forms.BooleanField(
        required=False, label=_("The auditor is not a competitor of the provider (art. 21.7.1).")
    )
    requester_not_competitor = forms.BooleanField(
        required=False,
        label=_(
            "We are not a competitor of the provider (art. 21.7.1). Required for the "
            "certifications and security information."
        ),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self._with_client_field(user)


class AuditAgreeForm(forms.Form):
    scope = forms.CharField(label=_("Scope"), widget=_TEXT2)
    timing = forms.CharField(label=_("Timing"), widget=_TEXT2)
    duration_days = forms.IntegerField(min_value=1, label=_("Duration (days)"))
    reimbursement_rate = forms.DecimalField(
        label=_("Reimbursement rate"), max_digits=12, decimal_places=2, min_value=0
    )


class AuditCompleteForm(forms.Form):
    hours_spent = forms.DecimalField(
        label=_("Hours spent"),
        required=False,
        min_value=0,
        max_digits=8,
        decimal_places=2,
        help_text=_(
            "the provider's time on the audit, reimbursed at the agreed rate (art. 21.7.2)"
        ),
    )


class FileForm(forms.Form):
    file = forms.FileField(
        label=_("File"),
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), widget=_TEXT2)


class AuditFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"), choices=[("", _("Any")), *AuditRequest.Status.choices], required=False
    )
    kind = forms.ChoiceField(
        label=_("Kind"), choices=[("", _("Any")), *AuditRequest.Kind.choices], required=False
    )


# --- Data-subject requests (art. 21.5) -----------------------------------------------------
class DsrForm(ClientChoiceMixin, forms.Form):
    type = forms.ChoiceField(label=_("Type"), choices=DataSubjectRequest.Type.choices)
    subject_reference = forms.CharField(
        label=_("Subject reference"),
        max_length=200,
        help_text=_("Only what is needed to find the subject's data, e.g. a phone number."),
    )
    received_at = _datetime_field(
        label=_("Received at"),
        required=False,
        help_text=_(
            "When the request was received, in the provider's local time; now if left empty."
        ),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self._user = user
        self._with_client_field(user)

    def clean(self):
        cleaned = super().clean()
        client = cleaned.get("client") or self._user.client
        if client is not None and cleaned.get("received_at"):
            cleaned["received_at"] = _as_local(cleaned["received_at"], client.provider.timezone)
        return cleaned


class DsrInstructForm(forms.Form):
    instruction = forms.ChoiceField(
        label=_("Instruction"), choices=DataSubjectRequest.Instruction.choices
    )
    note = forms.CharField(label=_("Note"), required=False, widget=_TEXT2)


class DsrActionForm(forms.Form):
    action_taken = forms.CharField(label=_("What was done"), widget=_TEXT2)
    assistance_cost = forms.DecimalField(
        label=_("Assistance cost"),
        max_digits=12,
        decimal_places=2,
        min_value=0,
        required=False,
        help_text=_("Charged to the client (art. 21.5.2)."),
    )


class OptionalReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), required=False, widget=_TEXT2)


class DsrFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"),
        choices=[("", _("Open")), ("all", _("Any")), *DataSubjectRequest.Status.choices],
        required=False,
    )
    type = forms.ChoiceField(
        label=_("Type"), choices=[("", _("Any")), *DataSubjectRequest.Type.choices], required=False
    )
    due_soon = forms.BooleanField(
        required=False,
        label=lazy(
            lambda: (
                gettext("Due within %(due_soon_days)s days") % {"due_soon_days": DSR_DUE_SOON_DAYS}
            ),
            str,
        )(),
    )


# --- Breaches (art. 21.11) -----------------------------------------------------------------
class BreachForm(UserScopedForm):
    provider = forms.ModelChoiceField(
        label=_("Provider"), queryset=Provider.objects.all(), empty_label=None
    )
    detected_at = _datetime_field(label=_("Detected at"), help_text=_("The provider's local time."))
    aware_at = _datetime_field(
        label=_("Aware at"),
        required=False,
        help_text=_(
            "Local time; the 48-hour notice clock starts here (art. 21.11). Detection by default."
        ),
    )
    description = forms.CharField(label=_("Description"), widget=_TEXT3)
    data_types = forms.CharField(label=_("Types of personal data"), widget=_TEXT2)
    approx_subjects = forms.IntegerField(
        min_value=0, label=_("Approximate number of data subjects")
    )
    measures = forms.CharField(label=_("Measures taken or proposed"), widget=_TEXT2)
    clients = ClientsField(
        queryset=Client.objects.exclude(status=Client.Status.DELETED), label=_("Affected clients")
    )

    def clean(self):
        cleaned = super().clean()
        provider = cleaned.get("provider")
        if provider is not None:
            for name in ("detected_at", "aware_at"):
                cleaned[name] = _as_local(cleaned.get(name), provider.timezone)
        return cleaned


class BreachNotifyForm(forms.Form):
    message = forms.CharField(
        label=_("Message"),
        widget=_TEXT3,
        help_text=_("Sent to the client's admins and recorded (art. 21.11)."),
    )


class BreachUpdateForm(forms.Form):
    text = forms.CharField(
        label=_("Update"), widget=_TEXT2, help_text=_("Notified clients receive it.")
    )


class BreachRootCauseForm(forms.Form):
    root_cause = forms.CharField(label=_("Root cause"), widget=_TEXT2)


# --- Records of processing (art. 21.8, 24) -------------------------------------------------
class ProcessingRecordCreateForm(UserScopedForm):
    """The compliance officer names a client of theirs without a record of processing (art.
    21.8); the record starts from the contract's description."""

    client = ClientField(label=_("Client"))


class ProcessingRecordForm(forms.ModelForm):
    class Meta:
        model = ProcessingRecord
        fields = [
            "subject_categories",
            "data_types",
            "purposes",
            "transfers",
            "retention",
            "toms_reference",
        ]
        widgets = {
            "subject_categories": _TEXT3,
            "data_types": _TEXT3,
            "purposes": _TEXT3,
            "transfers": _TEXT2,
            "retention": _TEXT2,
        }


# --- Assistance (art. 21.6) ----------------------------------------------------------------
class AssistanceRequestForm(ClientChoiceMixin, forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=AssistanceRequest.Kind.choices)
    description = forms.CharField(label=_("Description"), widget=_TEXT3)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self._with_client_field(user)


class AssistanceUpdateForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), choices=AssistanceRequest.Status.choices)
    outcome = forms.CharField(label=_("Outcome"), required=False, widget=_TEXT3)
    cost = forms.DecimalField(
        label=_("Cost"),
        max_digits=12,
        decimal_places=2,
        min_value=0,
        required=False,
        help_text=_("Charged to the client (art. 21.6)."),
    )
