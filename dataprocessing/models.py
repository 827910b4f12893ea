"""The provider as processor (Part II, art. 19–24): sub-processors, audits, DSRs, breaches,
records of processing, retention, assistance requests."""

import datetime as dt
import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from accounts.models import Client, Provider

USER = settings.AUTH_USER_MODEL
# Open data-subject requests due within this many days are highlighted (ahead of GDPR 12(3)).
DSR_DUE_SOON_DAYS = 5


# --- Sub-processors (art. 21.9, 21.10; GDPR 28(2)) -----------------------------------------
class SubProcessor(models.Model):
    class Kind(models.TextChoices):
        AFFILIATE = "affiliate", _("Affiliate")
        THIRD_PARTY = "third_party", _("Third party")

    class Safeguard(models.TextChoices):
        NONE = "", _("None (inside the EEA)")
        SCC = "scc", _("Standard contractual clauses")
        ADEQUACY = "adequacy", _("Adequacy decision")
        BCR = "bcr", _("Binding corporate rules")

    provider = models.ForeignKey(
        Provider,
        verbose_name=_("provider"),
        on_delete=models.PROTECT,
        related_name="sub_processors",
    )
    name = models.CharField(verbose_name=_("name"), max_length=200)
    kind = models.CharField(verbose_name=_("kind"), max_length=16, choices=Kind.choices)
    country = models.CharField(verbose_name=_("country"), max_length=2)
    services = models.TextField(_("services performed"))
    agreement_date = models.DateField(_("written agreement date"))
    agreement_document = models.FileField(
        verbose_name=_("agreement document"), upload_to="subprocessors/", blank=True
    )
    in_eea = models.BooleanField(_("in the EEA"))
    safeguard = models.CharField(
        verbose_name=_("safeguard"),
        max_length=16,
        choices=Safeguard.choices,
        blank=True,
        default="",
    )
    active_from = models.DateField(verbose_name=_("active from"), null=True, blank=True)
    active_to = models.DateField(verbose_name=_("active to"), null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("sub-processor")
        verbose_name_plural = _("sub-processors")
        ordering = ["provider", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(in_eea=True) | ~Q(safeguard=""),
                name="transfer_outside_eea_needs_safeguard",
                violation_error_message=_(
                    "A sub-processor outside the EEA needs a transfer safeguard (GDPR ch. V, art. 21.9)."
                ),
            )
        ]

    def __str__(self) -> str:
        return self.name


class SubProcessorChange(models.Model):
    """An intended addition or replacement, announced a notice period ahead (GDPR 28(2), art. 21.9)."""

    class Kind(models.TextChoices):
        ADDITION = "addition", _("Addition")
        REPLACEMENT = "replacement", _("Replacement")

    class Status(models.TextChoices):
        ANNOUNCED = "announced", _("Announced")
        EFFECTIVE = "effective", _("In effect")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    provider = models.ForeignKey(
        Provider,
        verbose_name=_("provider"),
        on_delete=models.PROTECT,
        related_name="sub_processor_changes",
    )
    kind = models.CharField(verbose_name=_("kind"), max_length=16, choices=Kind.choices)
    sub_processor = models.ForeignKey(
        SubProcessor,
        verbose_name=_("sub-processor"),
        on_delete=models.PROTECT,
        related_name="changes",
    )
    replaces = models.ForeignKey(
        SubProcessor,
        verbose_name=_("replaces"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="replaced_by",
    )
    description = models.TextField(verbose_name=_("description"), blank=True)
    announced_at = models.DateTimeField(verbose_name=_("announced at"), default=timezone.now)
    announced_by = models.ForeignKey(
        USER, verbose_name=_("announced by"), on_delete=models.PROTECT, related_name="+"
    )
    effective_at = models.DateTimeField(verbose_name=_("effective at"))
    status = models.CharField(
        verbose_name=_("status"), max_length=16, choices=Status.choices, default=Status.ANNOUNCED
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("sub-processor change")
        verbose_name_plural = _("sub-processor changes")
        ordering = ["-announced_at", "-pk"]
        # The lists' sort orders (accounts.kernel.keyset; issue 16 §2).
        indexes = [
            models.Index(fields=["provider", "-announced_at", "-id"], name="spchange_list_idx"),
        ]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name.capitalize()} #{self.pk}"


class SubProcessorObjection(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        RESOLVED = "resolved", _("Resolved")

    class Decision(models.TextChoices):
        UPHELD = "upheld", _("Upheld")
        REJECTED = "rejected", _("Rejected")

    change = models.ForeignKey(
        SubProcessorChange,
        verbose_name=_("change"),
        on_delete=models.PROTECT,
        related_name="objections",
    )
    client = models.ForeignKey(
        Client,
        verbose_name=_("client"),
        on_delete=models.PROTECT,
        related_name="sub_processor_objections",
    )
    objected_by = models.ForeignKey(
        USER, verbose_name=_("objected by"), on_delete=models.PROTECT, related_name="+"
    )
    objected_at = models.DateTimeField(verbose_name=_("objected at"), default=timezone.now)
    reason = models.TextField(verbose_name=_("reason"))
    status = models.CharField(
        verbose_name=_("status"), max_length=16, choices=Status.choices, default=Status.OPEN
    )
    decision = models.CharField(_("decision"), max_length=16, choices=Decision.choices, blank=True)
    resolution = models.TextField(verbose_name=_("resolution"), blank=True)
    resolved_by = models.ForeignKey(
        USER,
        verbose_name=_("resolved by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    resolved_at = models.DateTimeField(verbose_name=_("resolved at"), null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("sub-processor objection")
        verbose_name_plural = _("sub-processor objections")
        ordering = ["-objected_at", "-pk"]
        # The lists' sort orders (accounts.kernel.keyset; issue 16 §2).
        indexes = [
            models.Index(fields=["-objected_at", "-id"], name="spobjection_list_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["change", "client"],
                name="one_objection_per_client_and_change",
                violation_error_message=_("This client has already objected to this change."),
            )
        ]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name.capitalize()} #{self.pk}"


# --- Audits (art. 21.7) --------------------------------------------------------------------
class AuditRequest(models.Model):
    class Kind(models.TextChoices):
        AUDIT = "audit", _("Audit")
        INFORMATION = "information", _("Certifications and security information (21.7.1)")

    class Status(models.TextChoices):
        REQUESTED = "requested", _("Requested")
        AGREED = "agreed", _("Terms agreed")
        IN_PROGRESS = "in_progress", _("In progress")
        REPORT_SHARED = "report_shared", _("Report shared")
        COMPLETED = "completed", _("Completed")
        REFUSED = "refused", _("Refused")
        CANCELLED = "cancelled", _("Cancelled")

    # "a request not yet started": its terms may still be agreed, or it refused or cancelled
    NOT_STARTED_STATUSES = (Status.REQUESTED, Status.AGREED)
    OPEN_STATUSES = (*NOT_STARTED_STATUSES, Status.IN_PROGRESS, Status.REPORT_SHARED)

    client = models.ForeignKey(
        Client, verbose_name=_("client"), on_delete=models.PROTECT, related_name="audit_requests"
    )
    kind = models.CharField(verbose_name=_("kind"), max_length=16, choices=Kind.choices)
    requested_by = models.ForeignKey(
        USER, verbose_name=_("requested by"), on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(verbose_name=_("requested at"), default=timezone.now)
    on_behalf_of_client = models.BooleanField(
        verbose_name=_("on behalf of client"),
        default=False,
        help_text=_("logged by a compliance officer for the client"),
    )
    proposed_start = models.DateField(verbose_name=_("proposed start"), null=True, blank=True)
    earliest_start = models.DateTimeField(
        verbose_name=_("earliest start"),
        null=True,
        blank=True,
        help_text=_("10 working days after the request"),
    )
    auditor_name = models.CharField(verbose_name=_("auditor name"), max_length=200, blank=True)
    auditor_firm = models.CharField(verbose_name=_("auditor firm"), max_length=200, blank=True)
    auditor_accredited = models.BooleanField(
        verbose_name=_("auditor accredited"),
        default=False,
        help_text=_("declared: an accredited external expert"),
    )
    auditor_not_competitor = models.BooleanField(
        verbose_name=_("auditor not competitor"),
        default=False,
        help_text=_("declared: not a competitor of the provider"),
    )
    # art. 21.7.1: certifications and security information go only to a client "that is not a
    # competitor of CM": the requester's declaration, checked before anything is released.
    requester_not_competitor = models.BooleanField(
        _("requester declares it is not a competitor of the provider"), default=False
    )
    requester_declared_at = models.DateTimeField(null=True, blank=True)
    requester_declared_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    scope = models.TextField(verbose_name=_("scope"), blank=True)
    timing = models.TextField(verbose_name=_("timing"), blank=True)
    duration_days = models.PositiveSmallIntegerField(
        verbose_name=_("duration days"), null=True, blank=True
    )
    reimbursement_rate = models.DecimalField(
        verbose_name=_("reimbursement rate"),
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("per hour of the provider's time, excluding VAT (art. 21.7.2)"),
    )
    reimbursement_currency = models.CharField(
        verbose_name=_("reimbursement currency"), max_length=3, blank=True
    )
    hours_spent = models.DecimalField(
        max_digits=8,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("the provider's time expended on the audit, reimbursed (art. 21.7.2)"),
    )
    client_agreed_at = models.DateTimeField(
        verbose_name=_("client agreed at"), null=True, blank=True
    )
    client_agreed_by = models.ForeignKey(
        USER,
        verbose_name=_("client agreed by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    provider_agreed_at = models.DateTimeField(
        verbose_name=_("provider agreed at"), null=True, blank=True
    )
    provider_agreed_by = models.ForeignKey(
        USER,
        verbose_name=_("provider agreed by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    confidentiality_declaration = models.FileField(
        verbose_name=_("confidentiality declaration"),
        upload_to="audits/confidentiality/",
        blank=True,
    )
    report = models.FileField(verbose_name=_("report"), upload_to="audits/reports/", blank=True)
    report_shared_at = models.DateTimeField(
        verbose_name=_("report shared at"), null=True, blank=True
    )
    status = models.CharField(
        verbose_name=_("status"), max_length=16, choices=Status.choices, default=Status.REQUESTED
    )
    status_changed_at = models.DateTimeField(
        verbose_name=_("status changed at"), default=timezone.now
    )
    status_changed_by = models.ForeignKey(
        USER,
        verbose_name=_("status changed by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    refusal_reason = models.TextField(verbose_name=_("refusal reason"), blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("audit request")
        verbose_name_plural = _("audit requests")
        ordering = ["-requested_at", "-pk"]
        # The lists' sort orders (accounts.kernel.keyset; issue 16 §2).
        indexes = [
            models.Index(fields=["-requested_at", "-id"], name="audit_list_idx"),
            models.Index(fields=["client", "-requested_at", "-id"], name="audit_client_list_idx"),
        ]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name.capitalize()} #{self.pk}"

    @property
    def is_audit(self) -> bool:
        return self.kind == self.Kind.AUDIT

    @property
    def is_not_started(self) -> bool:
        return self.status in self.NOT_STARTED_STATUSES

    @property
    def completion_status(self) -> str:
        """The status a request is completed from: an audit once its report is shared with the
        provider (art. 21.7.3), an information request while it is open (art. 21.7.1)."""
        return self.Status.REPORT_SHARED if self.is_audit else self.Status.REQUESTED


# --- Data-subject requests (art. 21.5; GDPR art. 12(3)) ------------------------------------
class DataSubjectRequestQuerySet(models.QuerySet):
    """The deadline rules of GDPR art. 12(3) as SQL: every list, job, serializer and page reads them."""

    @staticmethod
    def overdue_condition(now: dt.datetime) -> Q:
        """A request is overdue once its deadline has passed while it is still open (GDPR art.
        12(3)); one paused for the subject's identity check is not (its deadline moves when it
        resumes, GDPR art. 12(6))."""
        return Q(
            status__in=DataSubjectRequest.OPEN_STATUSES, identity_check_since=None, due_at__lt=now
        )

    @staticmethod
    def due_soon_condition(now: dt.datetime, days: int = DSR_DUE_SOON_DAYS) -> Q:
        """A request is due soon when it is open, not paused and not yet overdue, and its deadline
        (GDPR art. 12(3)) falls within `days` days."""
        return Q(
            status__in=DataSubjectRequest.OPEN_STATUSES,
            identity_check_since=None,
            due_at__gte=now,
            due_at__lte=now + dt.timedelta(days=days),
        )

    def open(self):
        return self.filter(status__in=DataSubjectRequest.OPEN_STATUSES)

    def overdue(self, now: dt.datetime):
        return self.filter(self.overdue_condition(now))

    def due_soon(self, now: dt.datetime, days: int = DSR_DUE_SOON_DAYS):
        return self.filter(self.due_soon_condition(now, days))

    def with_deadline_flags(self, now: dt.datetime, days: int = DSR_DUE_SOON_DAYS):
        """Annotate `is_overdue` and `is_due_soon` (as of `now`), computed by the conditions above."""
        return self.annotate(
            is_overdue=models.ExpressionWrapper(
                self.overdue_condition(now), output_field=models.BooleanField()
            ),
            is_due_soon=models.ExpressionWrapper(
                self.due_soon_condition(now, days), output_field=models.BooleanField()
            ),
        )


class DataSubjectRequest(models.Model):
    class Type(models.TextChoices):
        ACCESS = "access", _("Access")
        RECTIFICATION = "rectification", _("Rectification")
        RESTRICTION = "restriction", _("Restriction")
        ERASURE = "erasure", _("Erasure")
        PORTABILITY = "portability", _("Portability")
        OBJECTION = "objection", _("Objection")
        AUTOMATED_DECISION = "automated_decision", _("Automated decision-making")

    class ReceivedBy(models.TextChoices):
        PROVIDER = "provider", _("Provider")
        CLIENT = "client", _("Client")

    class Status(models.TextChoices):  # OpenDSR request states
        PENDING = "pending", _("Pending")
        IN_PROGRESS = "in_progress", _("In progress")
        COMPLETED = "completed", _("Completed")
        CANCELLED = "cancelled", _("Cancelled")

    OPEN_STATUSES = (Status.PENDING, Status.IN_PROGRESS)
    CLOSED_STATUSES = (Status.COMPLETED, Status.CANCELLED)

    class Instruction(models.TextChoices):
        TRANSFER = "transfer", _("Transfer the data")
        CORRECT = "correct", _("Correct the data")
        DELETE = "delete", _("Delete the data")
        BLOCK = "block", _("Block (restrict) the data")

    request_id = models.UUIDField(
        verbose_name=_("request ID"), default=uuid.uuid4, unique=True, editable=False
    )
    client = models.ForeignKey(
        Client,
        verbose_name=_("client"),
        on_delete=models.PROTECT,
        related_name="data_subject_requests",
    )
    type = models.CharField(verbose_name=_("type"), max_length=24, choices=Type.choices)
    received_by = models.CharField(
        verbose_name=_("received by"), max_length=16, choices=ReceivedBy.choices
    )
    subject_reference = models.CharField(
        verbose_name=_("subject reference"),
        max_length=200,
        help_text=_(
            "the minimum needed to find the subject's data (e.g. a phone number); anonymised after retention"
        ),
    )
    received_at = models.DateTimeField(verbose_name=_("received at"), default=timezone.now)
    logged_by = models.ForeignKey(
        USER,
        verbose_name=_("logged by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    due_at = models.DateTimeField(verbose_name=_("due at"))
    extended = models.BooleanField(verbose_name=_("extended"), default=False)
    extension_reason = models.TextField(verbose_name=_("extension reason"), blank=True)
    extension_told_at = models.DateTimeField(
        verbose_name=_("extension told at"), null=True, blank=True
    )
    identity_check_since = models.DateTimeField(
        verbose_name=_("identity check since"),
        null=True,
        blank=True,
        help_text=_("paused while waiting on the identity check"),
    )
    paused_seconds = models.PositiveIntegerField(verbose_name=_("paused seconds"), default=0)
    status = models.CharField(
        verbose_name=_("status"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    instruction = models.CharField(
        verbose_name=_("instruction"), max_length=16, choices=Instruction.choices, blank=True
    )
    instruction_note = models.TextField(verbose_name=_("instruction note"), blank=True)
    instructed_at = models.DateTimeField(verbose_name=_("instructed at"), null=True, blank=True)
    instructed_by = models.ForeignKey(
        USER,
        verbose_name=_("instructed by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    action_taken = models.TextField(verbose_name=_("action taken"), blank=True)
    completed_at = models.DateTimeField(verbose_name=_("completed at"), null=True, blank=True)
    completed_by = models.ForeignKey(
        USER,
        verbose_name=_("completed by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    assistance_cost = models.DecimalField(
        verbose_name=_("assistance cost"), max_digits=12, decimal_places=2, default=Decimal("0")
    )
    assistance_cost_currency = models.CharField(
        verbose_name=_("assistance cost currency"), max_length=3, blank=True
    )
    status_callback_url = models.URLField(verbose_name=_("status callback URL"), blank=True)
    overdue_flagged_at = models.DateTimeField(
        verbose_name=_("overdue flagged at"), null=True, blank=True
    )
    anonymised_at = models.DateTimeField(verbose_name=_("anonymised at"), null=True, blank=True)

    history = HistoricalRecords()
    objects = DataSubjectRequestQuerySet.as_manager()

    class Meta:
        verbose_name = _("data-subject request")
        verbose_name_plural = _("data-subject requests")
        ordering = ["due_at", "pk"]
        indexes = [
            models.Index(fields=["status", "due_at"], name="dsr_status_due_idx"),
            models.Index(fields=["due_at", "id"], name="dsr_list_idx"),
            models.Index(fields=["client", "due_at", "id"], name="dsr_client_list_idx"),
        ]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name.capitalize()} #{self.pk}"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    @property
    def is_paused(self) -> bool:
        """Waiting on the subject's identity check (GDPR art. 12(6)): the clock stands still."""
        return self.identity_check_since is not None


class DsrCallback(models.Model):
    """One call of a DSR's status callback URL (OpenDSR), with its outcome."""

    request = models.ForeignKey(
        DataSubjectRequest,
        verbose_name=_("request"),
        on_delete=models.CASCADE,
        related_name="callbacks",
    )
    status = models.CharField(verbose_name=_("status"), max_length=16)
    url = models.URLField(verbose_name=_("URL"))
    created_at = models.DateTimeField(verbose_name=_("created at"), default=timezone.now)
    attempted_at = models.DateTimeField(verbose_name=_("attempted at"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(verbose_name=_("attempts"), default=0)
    response_code = models.PositiveSmallIntegerField(
        verbose_name=_("response code"), null=True, blank=True
    )
    error = models.TextField(verbose_name=_("error"), blank=True)
    delivered = models.BooleanField(verbose_name=_("delivered"), default=False)

    class Meta:
        verbose_name = _("DSR callback")
        verbose_name_plural = _("DSR callbacks")
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name.capitalize()} #{self.pk}"


# --- Breaches (art. 21.11) -----------------------------------------------------------------
class Breach(models.Model):
    provider = models.ForeignKey(
        Provider, verbose_name=_("provider"), on_delete=models.PROTECT, related_name="breaches"
    )
    detected_at = models.DateTimeField(verbose_name=_("detected at"))
    aware_at = models.DateTimeField(
        verbose_name=_("aware at"),
        help_text=_("when the provider became aware; the 48-hour clock starts here"),
    )
    description = models.TextField(verbose_name=_("description"))
    data_types = models.TextField(_("types of personal data"))
    approx_subjects = models.PositiveIntegerField(_("approximate number of data subjects"))
    measures = models.TextField(_("measures taken or proposed"))
    root_cause = models.TextField(verbose_name=_("root cause"), blank=True)
    logged_by = models.ForeignKey(
        USER, verbose_name=_("logged by"), on_delete=models.PROTECT, related_name="+"
    )
    logged_at = models.DateTimeField(verbose_name=_("logged at"), default=timezone.now)
    closed_at = models.DateTimeField(verbose_name=_("closed at"), null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("breach")
        verbose_name_plural = _("breaches")
        ordering = ["-detected_at", "-pk"]
        # The lists' sort orders (accounts.kernel.keyset; issue 16 §2).
        indexes = [
            models.Index(fields=["-detected_at", "-id"], name="breach_list_idx"),
            models.Index(
                fields=["provider", "-detected_at", "-id"], name="breach_provider_list_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name.capitalize()} #{self.pk}"


class BreachNotification(models.Model):
    """One affected client's notice, due within 48 hours of awareness (art. 21.11)."""

    breach = models.ForeignKey(
        Breach, verbose_name=_("breach"), on_delete=models.PROTECT, related_name="notifications"
    )
    client = models.ForeignKey(
        Client,
        verbose_name=_("client"),
        on_delete=models.PROTECT,
        related_name="breach_notifications",
    )
    deadline = models.DateTimeField(verbose_name=_("deadline"))
    notified_at = models.DateTimeField(verbose_name=_("notified at"), null=True, blank=True)
    notified_by = models.ForeignKey(
        USER,
        verbose_name=_("notified by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    message = models.TextField(verbose_name=_("message"), blank=True)
    escalated_near_at = models.DateTimeField(
        verbose_name=_("escalated near at"), null=True, blank=True
    )
    escalated_missed_at = models.DateTimeField(
        verbose_name=_("escalated missed at"), null=True, blank=True
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("breach notification")
        verbose_name_plural = _("breach notifications")
        ordering = ["deadline", "pk"]
        # The lists' sort orders (accounts.kernel.keyset; issue 16 §2).
        indexes = [
            models.Index(fields=["deadline", "id"], name="breachnotice_list_idx"),
            models.Index(fields=["client", "deadline", "id"], name="breachnotice_client_list_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["breach", "client"],
                name="one_breach_notice_per_client",
                violation_error_message=_(
                    "This client is already listed as affected by this breach."
                ),
            )
        ]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name.capitalize()} #{self.pk}"

    def seconds_left(self, now: dt.datetime | None = None) -> float | None:
        """The time left to notify the client (48 clock hours from awareness, art. 21.11), in
        seconds: negative once the deadline is missed, None once the client is notified."""
        if self.notified_at:
            return None
        return (self.deadline - (now or timezone.now())).total_seconds()


class BreachUpdate(models.Model):
    breach = models.ForeignKey(
        Breach, verbose_name=_("breach"), on_delete=models.CASCADE, related_name="updates"
    )
    text = models.TextField(verbose_name=_("text"))
    created_at = models.DateTimeField(verbose_name=_("created at"), default=timezone.now)
    created_by = models.ForeignKey(
        USER, verbose_name=_("created by"), on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("breach update")
        verbose_name_plural = _("breach updates")
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name.capitalize()} #{self.pk}"


# --- Records of processing (art. 21.8, 24) -------------------------------------------------
class ProcessingRecord(models.Model):
    client = models.OneToOneField(
        Client, verbose_name=_("client"), on_delete=models.PROTECT, related_name="processing_record"
    )
    subject_categories = models.TextField(_("categories of data subjects (24.2)"))
    data_types = models.TextField(_("types of personal data (24.3)"))
    purposes = models.TextField(_("purposes of processing (24.4)"))
    transfers = models.TextField(_("transfers outside the EEA and their safeguards"), blank=True)
    retention = models.TextField(_("retention"))
    toms_reference = models.CharField(
        _("technical and organisational measures (reference)"), max_length=300
    )
    updated_at = models.DateTimeField(verbose_name=_("updated at"), auto_now=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("processing record")
        verbose_name_plural = _("processing records")

    def __str__(self) -> str:
        return f"{self._meta.verbose_name.capitalize()} #{self.pk}"


# --- Retention (art. 23) -------------------------------------------------------------------
class RetentionPolicy(models.Model):
    class Category(models.TextChoices):
        USAGE_RECIPIENTS = "usage_recipients", _("Recipient numbers in usage records")
        DSR_SUBJECT_REFERENCES = "dsr_subject_references", _("Data-subject references in DSRs")
        DELETED_ACCOUNT_CONTACTS = (
            "deleted_account_contacts",
            _("Contact details of deleted accounts"),
        )

    provider = models.ForeignKey(
        Provider,
        verbose_name=_("provider"),
        on_delete=models.PROTECT,
        related_name="retention_policies",
    )
    category = models.CharField(verbose_name=_("category"), max_length=32, choices=Category.choices)
    period_days = models.PositiveIntegerField(verbose_name=_("period days"))

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("retention policy")
        verbose_name_plural = _("retention policies")
        ordering = ["provider", "category"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "category"],
                name="one_retention_period_per_category",
                violation_error_message=_(
                    "This provider already has a retention period for this category."
                ),
            )
        ]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name.capitalize()} #{self.pk}"


# --- Assistance (art. 21.6) ----------------------------------------------------------------
class AssistanceRequest(models.Model):
    class Kind(models.TextChoices):
        DPIA = "dpia", _("Data-protection impact assessment")
        PRIOR_CONSULTATION = (
            "prior_consultation",
            _("Prior consultation with the supervisory authority"),
        )

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        IN_PROGRESS = "in_progress", _("In progress")
        COMPLETED = "completed", _("Completed")
        CANCELLED = "cancelled", _("Cancelled")

    OPEN_STATUSES = (Status.OPEN, Status.IN_PROGRESS)

    client = models.ForeignKey(
        Client,
        verbose_name=_("client"),
        on_delete=models.PROTECT,
        related_name="assistance_requests",
    )
    kind = models.CharField(verbose_name=_("kind"), max_length=24, choices=Kind.choices)
    description = models.TextField(verbose_name=_("description"))
    requested_by = models.ForeignKey(
        USER, verbose_name=_("requested by"), on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(verbose_name=_("requested at"), default=timezone.now)
    due_at = models.DateTimeField(verbose_name=_("due at"), null=True, blank=True)
    status = models.CharField(
        verbose_name=_("status"), max_length=16, choices=Status.choices, default=Status.OPEN
    )
    outcome = models.TextField(verbose_name=_("outcome"), blank=True)
    assistance_cost = models.DecimalField(
        verbose_name=_("assistance cost"), max_digits=12, decimal_places=2, default=Decimal("0")
    )
    assistance_cost_currency = models.CharField(
        verbose_name=_("assistance cost currency"), max_length=3, blank=True
    )

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("assistance request")
        verbose_name_plural = _("assistance requests")
        ordering = ["-requested_at", "-pk"]
        # The lists' sort orders (accounts.kernel.keyset; issue 16 §2).
        indexes = [
            models.Index(fields=["-requested_at", "-id"], name="assistance_list_idx"),
            models.Index(
                fields=["client", "-requested_at", "-id"], name="assistance_client_list_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name.capitalize()} #{self.pk}"


class MandatoryProcessing(models.Model):
    """Processing the provider is required to do under mandatory law (art. 21.1.2): "If CM is
    required to Process Personal Data under mandatory law CM shall inform Client hereof in
    writing before Processing unless the law prohibits providing such information." For those
    purposes the provider is an independent controller.

    Recorded by a compliance officer; the client is told in writing when it is recorded, before
    the processing starts, or the law that forbids telling it is recorded instead (and the client
    never sees the record)."""

    client = models.ForeignKey(
        Client,
        verbose_name=_("client"),
        on_delete=models.PROTECT,
        related_name="mandatory_processing",
    )
    law = models.CharField(_("mandatory law requiring it"), max_length=300)
    description = models.TextField(_("processing and personal data concerned"))
    starts_at = models.DateTimeField(_("processing starts"))
    informing_prohibited = models.BooleanField(
        _("the law prohibits informing the client"), default=False
    )
    prohibition_basis = models.TextField(_("where the law prohibits it"), blank=True)
    client_informed_at = models.DateTimeField(_("client informed at"), null=True, blank=True)
    logged_by = models.ForeignKey(
        USER, verbose_name=_("logged by"), on_delete=models.PROTECT, related_name="+"
    )
    logged_at = models.DateTimeField(_("logged at"), default=timezone.now)

    history = HistoricalRecords()

    class Meta:
        ordering = ["-logged_at", "-id"]
        verbose_name = _("processing under mandatory law")
        verbose_name_plural = _("processing under mandatory law")
        indexes = [
            models.Index(fields=["-logged_at", "-id"], name="mandatory_list_idx"),
            models.Index(fields=["client", "-logged_at", "-id"], name="mandatory_client_list_idx"),
        ]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} #{self.pk}"
