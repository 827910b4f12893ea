"""Clients (companies), their directors, change requests and data requests (art. 2, 5)."""

import base64
import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from .providers import Provider


def callback_secret_new() -> str:
    """A Standard Webhooks signing secret: `whsec_` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


class Client(models.Model):
    """A company contracting with one provider (art. 5.5 lists the details it must give)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending approval")
        ACTIVE = "active", _("Active")
        REJECTED = "rejected", _("Rejected")
        DELETED = "deleted", _("Deleted")

    class BillingMode(models.TextChoices):
        PREPAID = "prepaid", _("Prepaid")
        POSTPAID = "postpaid", _("Postpaid")

    provider = models.ForeignKey(
        Provider, verbose_name=_("provider"), on_delete=models.PROTECT, related_name="clients"
    )
    legal_name = models.CharField(_("full legal name"), max_length=300)
    address = models.TextField(verbose_name=_("address"))
    country = models.CharField(
        verbose_name=_("country"), max_length=2, help_text=_("ISO 3166-1 alpha-2")
    )
    registration_number = models.CharField(verbose_name=_("registration number"), max_length=64)
    registration_number_normalised = models.CharField(
        verbose_name=_("registration number normalised"), max_length=64, editable=False
    )
    vat_number = models.CharField(_("VAT number"), max_length=64, blank=True)
    billing_email = models.EmailField(verbose_name=_("billing email"))
    billing_mode = models.CharField(
        verbose_name=_("billing mode"),
        max_length=16,
        choices=BillingMode.choices,
        default=BillingMode.POSTPAID,
    )
    # The language of the client's documents (invoice and credit-note PDFs, records of
    # processing) and of mail to its billing address; blank: its provider's default.
    language = models.CharField(
        _("language of documents"),
        max_length=16,
        choices=settings.LANGUAGES,
        blank=True,
        default="",
        help_text=_("blank: the provider's default language for its clients"),
    )
    status = models.CharField(
        verbose_name=_("status"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    created_at = models.DateTimeField(verbose_name=_("created at"), default=timezone.now)
    approved_at = models.DateTimeField(verbose_name=_("approved at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    rejection_reason = models.TextField(verbose_name=_("rejection reason"), blank=True)
    deleted_at = models.DateTimeField(verbose_name=_("deleted at"), null=True, blank=True)
    # Signs the status callbacks the portal posts to the client (Standard Webhooks HMAC); shown
    # to the client's admins, rotatable. Kept out of the history so old secrets are not kept.
    callback_secret = models.CharField(
        verbose_name=_("callback secret"),
        max_length=64,
        default=callback_secret_new,
        editable=False,
    )

    history = HistoricalRecords(excluded_fields=["callback_secret"])

    class Meta:
        verbose_name = _("client")
        verbose_name_plural = _("clients")
        ordering = ["legal_name", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "registration_number_normalised"],
                condition=~Q(status="rejected"),
                name="one_registration_per_legal_entity",
                violation_error_message=_(
                    "This company is already registered with this provider (art. 29.7)."
                ),
            )
        ]
        indexes = [
            models.Index(fields=["provider", "status"]),
            models.Index(fields=["legal_name", "id"], name="client_list_idx"),
            models.Index(fields=["provider", "legal_name", "id"], name="client_provider_list_idx"),
        ]

    def __str__(self) -> str:
        return self.legal_name

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE


class Director(models.Model):
    """A director authorised to sign the agreement (art. 5.5)."""

    client = models.ForeignKey(
        Client, verbose_name=_("client"), on_delete=models.CASCADE, related_name="directors"
    )
    name = models.CharField(verbose_name=_("name"), max_length=200)
    title = models.CharField(verbose_name=_("title"), max_length=200)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("director")
        verbose_name_plural = _("directors")
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.title})"


class ChangeRequest(models.Model):
    """A client's request in writing: a change of its registration details (art. 5.5), applied
    on acceptance, or a change to the service (art. 5.3: "Any change to the Service is to be
    requested in writing"), agreed or refused by staff."""

    class Kind(models.TextChoices):
        REGISTRATION = "registration", _("Registration details (art. 5.5)")
        SERVICE = "service", _("Change to the service (art. 5.3)")

    class Service(models.TextChoices):
        SMS = "sms", _("SMS")
        WHATSAPP = "whatsapp", _("WhatsApp Business")
        VOICE = "voice", _("Voice")
        OTHER = "other", _("Other")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        ACCEPTED = "accepted", _("Accepted")
        REJECTED = "rejected", _("Rejected")

    client = models.ForeignKey(
        Client, verbose_name=_("client"), on_delete=models.CASCADE, related_name="change_requests"
    )
    kind = models.CharField(
        _("kind"), max_length=16, choices=Kind.choices, default=Kind.REGISTRATION
    )
    # {"field": {"old": ..., "new": ...}}; directors as a list of {"name", "title"}
    changes = models.JSONField(verbose_name=_("changes"), default=dict, blank=True)
    # A change to the service (art. 5.3): which service, what should change, from when.
    service = models.CharField(_("service"), max_length=16, choices=Service.choices, blank=True)
    description = models.TextField(_("change requested"), blank=True)
    wanted_from = models.DateField(_("wanted from"), null=True, blank=True)
    agreed_from = models.DateField(_("agreed from"), null=True, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("submitted by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    submitted_at = models.DateTimeField(verbose_name=_("submitted at"), default=timezone.now)
    status = models.CharField(
        verbose_name=_("status"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(verbose_name=_("decided at"), null=True, blank=True)
    decision_note = models.TextField(verbose_name=_("decision note"), blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("change request")
        verbose_name_plural = _("change requests")
        ordering = ["-submitted_at", "-pk"]
        # The list's sort order, and per client (accounts.kernel.keyset; issue 16 §2).
        indexes = [
            models.Index(fields=["-submitted_at", "-id"], name="changereq_list_idx"),
            models.Index(
                fields=["client", "-submitted_at", "-id"], name="changereq_client_list_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name.capitalize()} #{self.pk}"


class DataRequest(models.Model):
    """A request to the client that it answers in the portal by a deadline, of one of three kinds:

    - an operator's or authority's request for its registration data (art. 5.6: within 3
      working days);
    - the provider's request for the records of end users' consent or proof of lawful basis
      (art. 5.4: "provide these to CM upon request"; art. 20.1.2: "upon reasonable written
      notice"), answered within the working days the request sets;
    - the provider's audit of the client's compliance with Applicable Law (art. 5.7: "Client
      shall cooperate with any audit"; CXENGAGE: "support audits and share required compliance
      data upon request"): the notice with its scope and the documents asked, the client's
      answers and documents by the deadline it sets, and the provider's findings when closed.

    It lives in accounts, beside the registration data request it extends: these are the
    client's own obligations (Part I, art. 5), where dataprocessing holds the provider's duties
    as processor (Part II; its audits run the other way, art. 21.7).
    """

    class Kind(models.TextChoices):
        REGISTRATION_DATA = "registration_data", _("Registration data (art. 5.6)")
        CONSENT_RECORDS = (
            "consent_records",
            _("Records of end-user consent or lawful basis (art. 5.4, 20.1.2)"),
        )
        COMPLIANCE_AUDIT = "compliance_audit", _("Compliance audit (art. 5.7)")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        ANSWERED = "answered", _("Answered")
        CLOSED = "closed", _("Closed")

    client = models.ForeignKey(
        Client, verbose_name=_("client"), on_delete=models.CASCADE, related_name="data_requests"
    )
    kind = models.CharField(
        _("kind"), max_length=24, choices=Kind.choices, default=Kind.REGISTRATION_DATA
    )
    requested_by = models.CharField(_("requesting operator or authority"), max_length=200)
    description = models.TextField(verbose_name=_("description"))
    scope = models.TextField(_("scope"), blank=True)
    documents_requested = models.TextField(_("documents requested"), blank=True)
    response_working_days = models.PositiveSmallIntegerField(
        _("working days to answer"), null=True, blank=True
    )
    logged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("logged by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    logged_at = models.DateTimeField(verbose_name=_("logged at"), default=timezone.now)
    due_at = models.DateTimeField(verbose_name=_("due at"))
    status = models.CharField(
        verbose_name=_("status"), max_length=16, choices=Status.choices, default=Status.OPEN
    )
    answer = models.TextField(verbose_name=_("answer"), blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("answered by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    answered_at = models.DateTimeField(verbose_name=_("answered at"), null=True, blank=True)
    overdue_flagged_at = models.DateTimeField(
        verbose_name=_("overdue flagged at"), null=True, blank=True
    )
    findings = models.TextField(_("findings"), blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("data request")
        verbose_name_plural = _("data requests")
        ordering = ["due_at", "pk"]
        indexes = [
            models.Index(fields=["status", "due_at"]),
            models.Index(fields=["due_at", "id"], name="datareq_list_idx"),
            models.Index(fields=["client", "due_at", "id"], name="datareq_client_list_idx"),
            models.Index(fields=["client", "-logged_at", "-id"], name="datareq_client_logged_idx"),
        ]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name.capitalize()} #{self.pk}"

    @staticmethod
    def overdue_q(now=None) -> Q:
        """Overdue: still open after its deadline (art. 5.6: the client provides the data within
        3 working days). Every read of overdue requests filters with this; `is_overdue` is the
        same rule for one row."""
        return Q(status=DataRequest.Status.OPEN, due_at__lt=now or timezone.now())

    @property
    def is_overdue(self) -> bool:
        """Still open after its deadline (art. 5.6), as `overdue_q`."""
        return self.status == self.Status.OPEN and timezone.now() > self.due_at

    @property
    def answered_late(self) -> bool:
        """Answered, but after the deadline the request set (art. 5.4, 5.6, 5.7, 20.1.2)."""
        return self.answered_at is not None and self.answered_at > self.due_at

    @property
    def is_from_provider(self) -> bool:
        """The provider's own request (art. 5.4, 5.7, 20.1.2), not an operator's or authority's."""
        return self.kind != self.Kind.REGISTRATION_DATA


class DataRequestDocument(models.Model):
    """A document the client uploads with its answer to a data request (art. 5.4, 5.7, 20.1.2)."""

    data_request = models.ForeignKey(
        DataRequest, on_delete=models.CASCADE, related_name="documents"
    )
    file = models.FileField(upload_to="data-requests/")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(default=timezone.now)

    history = HistoricalRecords()

    class Meta:
        ordering = ["uploaded_at", "pk"]

    def __str__(self) -> str:
        return f"{self._meta.verbose_name.capitalize()} #{self.pk}"
