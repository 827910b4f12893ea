"""What a client quotes when it pays, and to which account (art. 4.10, 29.3; issue 14 §1-2).

Shared by invoicing (invoice references, statement matching) and prepaid (the wallet page), so
neither imports the other. An invoice's reference is its RF creditor reference (euro) or its
number; a client's own reference, which a prepaid client quotes for a top-up and any client
for a payment that names no invoice, is built from its client number the same way:
`<provider country>-C<client number, 6+ digits>` (e.g. `NL-C000042`), or for euro the ISO 11649
reference of those letters and digits (`RF…NLC000042`). Both are stable for the client's life
(the client number never changes) and never look like an invoice number (`NL-2026-000042`).
"""

from __future__ import annotations

import re

from stdnum import iso11649
from stdnum.iso7064 import mod_97_10

from billing.models import BankAccount

EURO = "EUR"
RF_BODY_MAX = 21  # ISO 11649: RF, two check digits, at most 21 alphanumerics
CLIENT_REFERENCE = re.compile(r"\b([A-Z]{2})-?C(\d{6,})\b")
RF_REFERENCE = re.compile(r"\bRF\d{2}[A-Z0-9]{1,21}\b")


def creditor_reference(seed: str) -> str:
    """The ISO 11649 creditor reference for `seed` (its letters and digits, upper case).

    The check digits make "body + RF + check digits" ≡ 1 (mod 97), ISO 7064 MOD 97-10, which
    `stdnum.iso11649.validate` checks.
    """
    body = "".join(ch for ch in seed.upper() if ch.isascii() and ch.isalnum())
    if not body or len(body) > RF_BODY_MAX:
        raise ValueError(f"A creditor reference carries 1 to {RF_BODY_MAX} letters and digits.")
    reference = "RF" + mod_97_10.calc_check_digits(body + "RF") + body
    return iso11649.validate(reference)


def client_number_reference(*, country: str, client_id: int) -> str:
    """A client's own payment reference when no RF reference applies: `NL-C000042`."""
    return f"{country.upper()}-C{client_id:06d}"


def client_payment_reference(*, country: str, client_id: int, currency: str) -> str:
    """What a client quotes to pay without an invoice (a prepaid top-up, art. 29.3): the RF
    creditor reference of its client number for a euro account, else the client number."""
    plain = client_number_reference(country=country, client_id=client_id)
    return creditor_reference(plain) if currency == EURO else plain


def client_ids_quoted(*, country: str, references: list[str], text: str) -> list[int]:
    """The client numbers of `country`'s clients that a payment quotes: a structured reference
    (RF… of a client number, or the client number) or a client number in the remittance text."""
    found: list[int] = []
    candidates = [r for r in references if r]
    squeezed = text.upper().replace(" ", "")
    candidates += RF_REFERENCE.findall(squeezed)
    for ref in candidates:
        ref = ref.upper().replace(" ", "")
        if ref.startswith("RF") and iso11649.is_valid(ref):
            ref = ref[4:]
        for country_code, number in CLIENT_REFERENCE.findall(ref):
            if country_code == country.upper():
                found.append(int(number))
    for country_code, number in CLIENT_REFERENCE.findall(text.upper()):
        if country_code == country.upper():
            found.append(int(number))
    return list(dict.fromkeys(found))


def primary_account(*, provider, currency: str) -> BankAccount | None:
    """The provider's primary active account in `currency`, else its first active one."""
    return (
        BankAccount.objects.filter(provider=provider, currency=currency, active=True)
        .order_by("-is_primary", "pk")
        .first()
    )
