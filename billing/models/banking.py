"""The provider's bank accounts, printed on its invoices (art. 4.10: "the bank of CM as
indicated on the invoice"), and the standards their numbers are checked against.

An account is either an IBAN account (IBAN and BIC, ISO 13616 and ISO 9362) or a Chinese
account (account number, bank name, branch and SWIFT code; China has no IBAN). A provider may
keep several accounts per currency; one of them is the primary one, the one an invoice in
that currency names first. Staff edit them in the admin; simple-history keeps every version,
so an invoice is printed with the account as it was when the invoice was issued.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords
from stdnum import bic as stdnum_bic
from stdnum import iban as stdnum_iban
from stdnum.exceptions import (
    InvalidChecksum,
    InvalidComponent,
    InvalidFormat,
    InvalidLength,
)
from stdnum.exceptions import ValidationError as StdnumError

# Countries of the SEPA scheme (EPC409-09, list of countries in the SEPA schemes' scope): the
# EU and EEA states, and the non-EEA members of the scheme.
SEPA_COUNTRIES = frozenset(
    (
        "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE "  # EU
        "IS LI NO "  # EEA
        "CH GB MC SM VA AD AL MD ME MK"  # other members of the SEPA schemes
    ).split()
)

IBAN_RULE = "ISO 13616: country code, two check digits (mod 97) and the country's account format"
BIC_RULE = (
    "ISO 9362: 8 or 11 characters, bank code (4 letters), country code (2 letters), "
    "location (2) and optionally branch (3)"
)


def _reason(exc: StdnumError) -> str:
    if isinstance(exc, InvalidChecksum):
        return "its check digits are wrong"
    if isinstance(exc, InvalidLength):
        return "it has the wrong length"
    if isinstance(exc, InvalidComponent):
        return "its country code is unknown or its account part has the wrong format"
    if isinstance(exc, InvalidFormat):
        return "it has the wrong format"
    return "it is not valid"


def validate_iban(value: str) -> None:
    """An IBAN passes python-stdnum's ISO 13616 check (country format and mod-97 check digits)."""
    try:
        stdnum_iban.validate(value)
    except StdnumError as exc:
        raise ValidationError(
            gettext("IBAN %(value)s is refused: %(reason)s (%(iban_rule)s).")
            % {"value": repr(value), "reason": _reason(exc), "iban_rule": IBAN_RULE},
            code="iban",
        ) from exc


def validate_bic(value: str) -> None:
    """A BIC (SWIFT code) passes python-stdnum's ISO 9362 check."""
    try:
        stdnum_bic.validate(value)
    except StdnumError as exc:
        raise ValidationError(
            gettext("BIC/SWIFT code %(value)s is refused: %(reason)s (%(bic_rule)s).")
            % {"value": repr(value), "reason": _reason(exc), "bic_rule": BIC_RULE},
            code="bic",
        ) from exc


class BankAccount(models.Model):
    """One of a provider's accounts that clients pay into (art. 4.10)."""

    class Kind(models.TextChoices):
        IBAN = "iban", _("IBAN account (IBAN and BIC)")
        CHINA = "cn", _("Chinese account (account number, bank, branch, SWIFT code)")

    provider = models.ForeignKey(
        "accounts.Provider",
        verbose_name=_("provider"),
        on_delete=models.PROTECT,
        related_name="bank_accounts",
    )
    kind = models.CharField(
        verbose_name=_("kind"), max_length=8, choices=Kind.choices, default=Kind.IBAN
    )
    currency = models.CharField(
        verbose_name=_("currency"), max_length=3, help_text=_("ISO 4217, e.g. EUR")
    )
    account_holder = models.CharField(
        verbose_name=_("account holder"),
        max_length=70,
        help_text=_("the name the account is held in"),
    )
    bank_name = models.CharField(verbose_name=_("bank name"), max_length=200)
    branch = models.CharField(
        verbose_name=_("branch"),
        max_length=200,
        blank=True,
        help_text=_("required for a Chinese account"),
    )
    iban = models.CharField(
        "IBAN", max_length=34, blank=True, validators=[validate_iban], help_text=_("IBAN accounts")
    )
    bic = models.CharField(
        "BIC / SWIFT code",
        max_length=11,
        blank=True,
        validators=[validate_bic],
        help_text=_("ISO 9362; the SWIFT code of a Chinese account"),
    )
    account_number = models.CharField(
        verbose_name=_("account number"),
        max_length=40,
        blank=True,
        help_text=_("the account number of a Chinese account"),
    )
    is_primary = models.BooleanField(
        verbose_name=_("is primary"),
        default=False,
        help_text=_("the account invoices in this currency name first"),
    )
    active = models.BooleanField(
        verbose_name=_("active"), default=True, help_text=_("a closed account is kept, not deleted")
    )
    note = models.CharField(verbose_name=_("note"), max_length=200, blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("bank account")
        verbose_name_plural = _("bank accounts")
        ordering = ["provider", "currency", "-is_primary", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "currency"],
                condition=Q(is_primary=True, active=True),
                name="one_primary_bank_account_per_provider_currency",
                violation_error_message=(
                    "This provider already has a primary account in this currency; "
                    "make that one not primary first."
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.currency} {self.display_number} ({self.bank_name})"

    @property
    def display_number(self) -> str:
        if self.kind == self.Kind.IBAN:
            return stdnum_iban.format(self.iban) if self.iban else ""
        return self.account_number

    @property
    def is_sepa(self) -> bool:
        """An IBAN account in a country of the SEPA scheme: a euro payment reaches it as a SEPA
        credit transfer, which the EPC QR code starts (EPC069-12)."""
        return (
            self.kind == self.Kind.IBAN
            and bool(self.iban)
            and self.iban[:2].upper() in SEPA_COUNTRIES
        )

    def normalise(self) -> None:
        """Numbers as stored: upper case, without the spaces people type them with."""
        self.currency = (self.currency or "").strip().upper()
        self.iban = stdnum_iban.compact(self.iban or "")
        self.bic = stdnum_bic.compact(self.bic or "")
        self.account_number = (self.account_number or "").replace(" ", "").strip()

    def clean_fields(self, exclude=None) -> None:
        self.normalise()
        super().clean_fields(exclude=exclude)

    def clean(self) -> None:
        """Require what each kind of account needs."""
        errors: dict[str, list[str]] = {}
        if len(self.currency) != 3 or not self.currency.isalpha():
            errors["currency"] = [gettext("A currency is a three-letter ISO 4217 code, e.g. EUR.")]
        if self.kind == self.Kind.IBAN:
            if not self.iban:
                errors["iban"] = [
                    gettext("An IBAN account needs its IBAN (%(iban_rule)s).")
                    % {"iban_rule": IBAN_RULE}
                ]
            if self.account_number:
                errors["account_number"] = [
                    gettext("An IBAN account has no separate account number: the IBAN carries it.")
                ]
        else:
            if not self.account_number:
                errors["account_number"] = [gettext("A Chinese account needs its account number.")]
            if not self.bic:
                errors["bic"] = [
                    gettext("A Chinese account needs its SWIFT code (%(bic_rule)s).")
                    % {"bic_rule": BIC_RULE}
                ]
            if not (self.branch or "").strip():
                errors["branch"] = [gettext("A Chinese account needs its branch.")]
            if self.iban:
                errors["iban"] = [
                    gettext("A Chinese account has no IBAN; give its account number.")
                ]
        if errors:
            raise ValidationError(errors)
