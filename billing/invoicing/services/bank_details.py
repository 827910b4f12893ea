"""What an invoice tells the client about paying it: the provider's bank account and the
payment reference (art. 4.5, 4.10).

Art. 4.10: "Client shall bear the costs imposed by its own bank, any intermediate bank and the
bank of CM as indicated on the invoice". The invoice therefore names the bank: the provider's
primary active account in the invoice's currency, chosen when the invoice is issued and kept
on it (`Invoice.pay_to`), printed as it was at that moment (simple-history).

The payment reference is what the client quotes so that the money finds its invoice: the ISO
11649 structured creditor reference ("RF" + two check digits + the invoice number's letters
and digits) for euro invoices, which SEPA banks carry end to end in the structured remittance
field, and the invoice number itself otherwise. Invoice numbers are unique, so references are;
the database holds that too (`invoice_payment_reference_unique`).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction

from accounts.kernel.errors import from_django_validation_error
from accounts.kernel.history import with_history_user
from accounts.kernel.roles import require_billing_staff
from accounts.models import User
from billing.models import BankAccount, Invoice
from billing.payment_references import (  # noqa: F401 - re-exported: its callers import them here
    EURO,
    RF_BODY_MAX,
    creditor_reference,
    primary_account,
)


def payment_reference_for(invoice: Invoice) -> str:
    """The reference the client pays an issued invoice with: RF… for euro, else its number."""
    assert invoice.number, "an invoice gets its payment reference when it is numbered"
    if invoice.currency == EURO:
        return creditor_reference(invoice.number)
    return invoice.number


def invoice_payment_terms_assign(invoice: Invoice) -> None:
    """At issue: the payment reference and the account the invoice names (art. 4.10).

    Called by the issuing service inside its transaction, before it saves the invoice.
    Credit notes are not paid by the client: they get neither.
    """
    if invoice.kind != Invoice.Kind.INVOICE:
        return
    invoice.payment_reference = payment_reference_for(invoice)
    invoice.pay_to = primary_account(provider=invoice.provider, currency=invoice.currency)


def account_as_issued(invoice: Invoice) -> BankAccount | None:
    """The account an invoice names, as it stood when the invoice was issued.

    An account edited since (a new bank name, a corrected holder) prints as it was; an invoice
    issued before its provider kept any account in its currency names today's primary one.
    """
    account = invoice.pay_to
    if account is None:
        return primary_account(provider=invoice.provider, currency=invoice.currency)
    if invoice.issued_at is not None:
        try:
            then: BankAccount = account.history.as_of(invoice.issued_at)
            return then
        except BankAccount.DoesNotExist:
            return account
    return account


@transaction.atomic
def bank_account_save(*, account: BankAccount, acting_user: User) -> BankAccount:
    """Add or change one of the provider's accounts, checked against ISO 13616 (IBAN) and ISO
    9362 (BIC/SWIFT) with python-stdnum; a refusal names the field and the rule and saves
    nothing. The admin does the same through the model's validators."""
    require_billing_staff(acting_user)
    try:
        account.full_clean()
    except DjangoValidationError as exc:
        raise from_django_validation_error(exc) from exc
    with_history_user(account, acting_user).save()
    return account
