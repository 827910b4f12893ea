"""Bank statements in, payments matched (issue 14 §2; art. 4.10).

Billing staff upload a statement file (camt.053, camt.054, MT940: `statement_files`). The
upload reads it whole first: a malformed file, one for an account that is not one of the
provider's, or a file already imported is refused with a message naming the file and the
fault, and nothing is stored. A good file is stored and imported by a Celery task
(`billing.statement_import`), in batches, counting as it goes, so the page shows progress.

Each credit entry is kept once per provider by the bank's reference (`AcctSvcrRef`, the
reference after // in MT940's :61:): an entry already imported, from this file or another, is
counted as a duplicate and books nothing. A new entry is matched to an open invoice of the
same provider and currency:

1. by its structured reference (the invoice's RF creditor reference or, for non-euro, its
   number, `Invoice.payment_reference`), or an RF reference written into the remittance text;
2. else by an invoice number in the remittance text;
3. else by amount and payer: the only open invoice whose outstanding amount equals the entry's
   and whose client's name is the payer's (letters and digits compared, case ignored).

A matched entry is recorded through `payments.payment_record` (idempotency key = the bank
reference), so the rules of art. 4.10 hold as for a payment typed in: "The net amount received
by CM shall correspond to the amount invoiced. In this regard, the Client remains liable to pay
the any shortfall": an entry short by bank fees leaves the invoice partly paid (the entry is
"partly matched"), and an entry larger than what is outstanding is not recorded (it waits for
staff). What is not matched waits in the staff queue, where staff assign it to an invoice with
one action or mark it refunded.
"""

from __future__ import annotations

import logging
import re

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext

from accounts.kernel.errors import ApplicationError, Conflict, ValidationFailed
from accounts.kernel.history import with_history_user
from accounts.kernel.inputs import clean_text
from accounts.kernel.roles import require_billing_staff
from accounts.models import User
from accounts.selectors import providers_visible_to, scoped
from billing.models import BankAccount, Invoice, StatementEntry, StatementImport

from ..statement_files import ParsedEntry, StatementFileError, parse_statement
from ._common import OPEN_STATUSES
from .invoices import invoice_outstanding
from .payments import payment_record

log = logging.getLogger(__name__)

BATCH = 500
INVOICE_NUMBER = re.compile(r"\b[A-Z]{2}-\d{4}-\d{6,}\b")
RF_REFERENCE = re.compile(r"\bRF\d{2}[A-Z0-9]{1,21}\b")


def _refuse(filename: str, message: str) -> ValidationFailed:
    return ValidationFailed({"file": [f"{filename}: {message}"]}, article="4.10")


def _account_for(user: User, account: str) -> BankAccount | None:
    """The active account a statement is of, among those of the providers `user` works for."""
    return (
        BankAccount.objects.filter(provider__in=providers_visible_to(user), active=True)
        .filter(Q(iban=account) | Q(account_number=account))
        .order_by("pk")
        .first()
    )


@transaction.atomic
def statement_upload(*, filename: str, content: bytes, acting_user: User) -> StatementImport:
    """Store a statement file for import, after reading it whole; a refusal stores nothing."""
    require_billing_staff(acting_user)
    filename = (filename or "statement").strip()[:255]
    if len(content) > settings.PORTAL_UPLOAD_MAX_BYTES:
        raise _refuse(filename, f"larger than {settings.PORTAL_UPLOAD_MAX_BYTES:,} bytes.")
    try:
        parsed = parse_statement(content)
    except StatementFileError as exc:
        raise _refuse(filename, str(exc)) from None
    account = _account_for(acting_user, parsed.account)
    if account is None:
        raise _refuse(
            filename,
            f"it is a statement of account {parsed.account}, which is not an account of a "
            "provider you work for (admin: bank accounts).",
        )
    if parsed.currency and parsed.currency != account.currency:
        raise _refuse(
            filename,
            f"it is in {parsed.currency}, but account {parsed.account} is kept in "
            f"{account.currency}.",
        )
    earlier = StatementImport.objects.filter(
        provider_id=account.provider_id, sha256=parsed.sha256
    ).first()
    if earlier is not None:
        raise Conflict(
            gettext(
                "%(filename)s: this file was already imported on %(uploaded_at)s (import #%(pk)s, %(filename2)s); nothing was imported again."
            )
            % {
                "filename": filename,
                "uploaded_at": f"{earlier.uploaded_at:%Y-%m-%d}",
                "pk": earlier.pk,
                "filename2": earlier.filename,
            },
            field="file",
        )
    try:
        with transaction.atomic():
            statement = StatementImport.objects.create(
                provider_id=account.provider_id,
                bank_account=account,
                format=parsed.format,
                filename=filename,
                sha256=parsed.sha256,
                statement_id=parsed.statement_id,
                content=content,
                entries_total=sum(1 for e in parsed.entries if e.credit),
                uploaded_by=acting_user,
            )
    except IntegrityError:  # the same file uploaded at the same moment by someone else
        raise Conflict(
            gettext("%(filename)s: this file was already imported.") % {"filename": filename},
            field="file",
        ) from None

    def queue() -> None:
        from billing.tasks import statement_import

        statement_import.delay(statement.pk)

    transaction.on_commit(queue)
    return statement


def _normalised(name: str) -> str:
    return "".join(ch for ch in name.casefold() if ch.isalnum())


def _open_invoices(entry: StatementEntry, user: User) -> QuerySet[Invoice]:
    return scoped(
        Invoice.objects.filter(
            provider_id=entry.provider_id,
            kind=Invoice.Kind.INVOICE,
            status__in=OPEN_STATUSES,
            currency=entry.currency,
        ),
        user=user,
    ).select_related("client", "provider")


def statement_entry_candidate(
    entry: StatementEntry, *, user: User
) -> tuple[Invoice, str] | tuple[None, str]:
    """The open invoice the entry pays and how it was found; (None, why not) otherwise."""
    invoices = _open_invoices(entry, user)
    text = (entry.remittance_text or "").upper()
    references = [entry.structured_reference] if entry.structured_reference else []
    references += RF_REFERENCE.findall(text.replace(" ", ""))
    if references:
        found = list(invoices.filter(payment_reference__in=references)[:2])
        if len(found) == 1:
            return found[0], StatementEntry.MatchedBy.REFERENCE
    numbers = INVOICE_NUMBER.findall(text)
    if numbers:
        found = list(invoices.filter(number__in=numbers)[:2])
        if len(found) == 1:
            return found[0], StatementEntry.MatchedBy.INVOICE_NUMBER
    payer = _normalised(entry.payer_name)
    if payer:
        rough = invoices.annotate(left=F("total") - F("amount_paid")).filter(left__gte=entry.amount)
        found = [
            inv
            for inv in rough[:50]
            if _normalised(inv.client.legal_name) == payer
            and invoice_outstanding(inv) == entry.amount
        ]
        if len(found) == 1:
            return found[0], StatementEntry.MatchedBy.AMOUNT_PAYER
        if len(found) > 1:
            return None, f"{len(found)} open invoices of this payer for this amount."
    if references or numbers:
        return None, "The reference names no open invoice in this currency."
    return None, "No reference, invoice number or unique amount and payer."


def _record(
    entry: StatementEntry, invoice: Invoice, *, user: User, matched_by: str, status: str | None
) -> None:
    """Record the entry as a payment of `invoice` (art. 4.10) and mark how it was matched."""
    reference = " ".join(
        part for part in (entry.bank_reference, entry.structured_reference) if part
    )
    payment = payment_record(
        invoice=invoice,
        amount=entry.amount,
        received_on=entry.booking_date,
        reference=reference,
        idempotency_key=f"statement-entry:{entry.provider_id}:{entry.bank_reference}",
        acting_user=user,
    )
    invoice.refresh_from_db(fields=["status"])
    entry.invoice = invoice
    entry.payment = payment
    entry.matched_by = matched_by
    if status is None:
        status = (
            StatementEntry.Status.MATCHED
            if invoice.status == Invoice.Status.PAID
            else StatementEntry.Status.PARTLY_MATCHED
        )
    entry.status = status
    entry.note = ""


def statement_entry_match(entry: StatementEntry, *, user: User) -> str:
    """Match one new entry and record it, or leave it unmatched with the reason; its status."""
    invoice, how = statement_entry_candidate(entry, user=user)
    if invoice is None:
        entry.note = how[:300]
        with_history_user(entry, user).save(update_fields=["note"])
        return entry.status
    try:
        with transaction.atomic():
            _record(entry, invoice, user=user, matched_by=how, status=None)
            with_history_user(entry, user).save()
    except ApplicationError as exc:
        entry.refresh_from_db()
        entry.note = f"Found invoice {invoice.number}, not recorded: {exc.message}"[:300]
        with_history_user(entry, user).save(update_fields=["note"])
    return entry.status


def _entry(statement: StatementImport, e: ParsedEntry) -> StatementEntry:
    return StatementEntry(
        statement=statement,
        provider_id=statement.provider_id,
        bank_reference=e.bank_reference,
        booking_date=e.booking_date,
        amount=e.amount,
        currency=e.currency,
        payer_name=e.payer_name,
        payer_iban=e.payer_iban,
        structured_reference=e.structured_reference,
        remittance_text=e.remittance_text,
    )


def statement_import_run(*, statement_id: int) -> dict[str, int | str]:
    """Import and match a stored statement, in batches, counting as it goes (the task's body).

    Idempotent: a finished import is not run again, and an import run again after a crash
    finds its entries by bank reference and books none twice.
    """
    claimed = StatementImport.objects.filter(
        pk=statement_id,
        status__in=[StatementImport.Status.QUEUED, StatementImport.Status.RUNNING],
    ).update(status=StatementImport.Status.RUNNING)
    if not claimed:
        return {"skipped": "finished already"}
    statement = StatementImport.objects.select_related("uploaded_by").get(pk=statement_id)
    user = statement.uploaded_by
    try:
        parsed = parse_statement(bytes(statement.content))
        credits = [e for e in parsed.entries if e.credit]
        debits = len(parsed.entries) - len(credits)
        duplicates = 0
        seen: set[str] = set()
        done = 0
        for start in range(0, len(credits), BATCH):
            batch = credits[start : start + BATCH]
            refs = [e.bank_reference for e in batch]
            first_seen = {}
            for e in batch:
                if e.bank_reference not in seen and e.bank_reference not in first_seen:
                    first_seen[e.bank_reference] = e
            # ON CONFLICT DO NOTHING: an entry another file (or a concurrent import) holds
            # already stays theirs; the unique constraint decides, not a read before the write.
            StatementEntry.objects.bulk_create(
                [_entry(statement, e) for e in first_seen.values()], ignore_conflicts=True
            )
            owned = set(
                StatementEntry.objects.filter(
                    statement=statement, bank_reference__in=refs
                ).values_list("bank_reference", flat=True)
            )
            for e in batch:
                if e.bank_reference in seen or e.bank_reference not in owned:
                    duplicates += 1
                seen.add(e.bank_reference)
            # new ones, and on a re-run those a crash left before their matching (no note yet)
            for entry in StatementEntry.objects.filter(
                statement=statement,
                bank_reference__in=refs,
                status=StatementEntry.Status.UNMATCHED,
                note="",
            ).order_by("pk"):
                statement_entry_match(entry, user=user)
            done += len(batch)
            StatementImport.objects.filter(pk=statement.pk).update(
                entries_done=done, duplicates=duplicates
            )
        counts = _status_counts(statement)
        StatementImport.objects.filter(pk=statement.pk).update(
            status=StatementImport.Status.DONE,
            finished_at=timezone.now(),
            entries_done=done,
            duplicates=duplicates,
            debits=debits,
            **counts,
        )
        return {**counts, "duplicates": duplicates, "debits": debits}
    except Exception as exc:
        log.exception("statement import %s failed", statement_id)
        StatementImport.objects.filter(pk=statement.pk).update(
            status=StatementImport.Status.FAILED, error=str(exc)[:2000], finished_at=timezone.now()
        )
        raise


def _status_counts(statement: StatementImport) -> dict[str, int]:
    entries = StatementEntry.objects.filter(statement=statement)
    by = StatementEntry.Status
    return {
        "matched": entries.filter(status__in=[by.MATCHED, by.ASSIGNED]).count(),
        "partly_matched": entries.filter(status=by.PARTLY_MATCHED).count(),
        "unmatched": entries.filter(status__in=[by.UNMATCHED, by.REFUNDED]).count(),
    }


def _lock_unmatched(entry: StatementEntry, user: User) -> StatementEntry:
    locked = (
        StatementEntry.objects.select_for_update()
        .filter(pk=entry.pk, provider__in=providers_visible_to(user))
        .first()
    )
    if locked is None:
        raise ApplicationError(gettext("No such statement entry."), field="entry")
    if locked.status != StatementEntry.Status.UNMATCHED:
        raise ApplicationError(
            gettext("This entry is %(status)s already.")
            % {"status": locked.get_status_display().lower()},
            field="entry",
        )
    return locked


@transaction.atomic
def statement_entry_assign(
    *, entry: StatementEntry, invoice: Invoice, acting_user: User
) -> StatementEntry:
    """Staff assign an unmatched entry to an invoice: it is recorded as that invoice's payment
    (art. 4.10; a shortfall stays owed, more than outstanding is refused). One action."""
    require_billing_staff(acting_user)
    entry = _lock_unmatched(entry, acting_user)
    if invoice.provider_id != entry.provider_id or invoice.currency != entry.currency:
        raise ValidationFailed(
            {
                "invoice": [
                    gettext(
                        "Invoice %(number)s is a %(currency)s invoice of another account or provider; this entry is %(currency2)s %(amount)s received on the provider's own account."
                    )
                    % {
                        "number": invoice.number,
                        "currency": invoice.currency,
                        "currency2": entry.currency,
                        "amount": f"{entry.amount:,.2f}",
                    }
                ]
            },
            article="4.10",
        )
    _record(
        entry,
        invoice,
        user=acting_user,
        matched_by=StatementEntry.MatchedBy.STAFF,
        status=StatementEntry.Status.ASSIGNED,
    )
    entry.resolved_by = acting_user
    entry.resolved_at = timezone.now()
    with_history_user(entry, acting_user).save()
    return entry


@transaction.atomic
def statement_entry_refund(
    *, entry: StatementEntry, note: str, acting_user: User
) -> StatementEntry:
    """Staff mark an unmatched entry as paid back to its sender (nothing is booked)."""
    require_billing_staff(acting_user)
    note = clean_text(
        note, field="note", message="Say how it was refunded (e.g. the transfer).", max_length=300
    )
    entry = _lock_unmatched(entry, acting_user)
    entry.status = StatementEntry.Status.REFUNDED
    entry.note = note
    entry.resolved_by = acting_user
    entry.resolved_at = timezone.now()
    with_history_user(entry, acting_user).save()
    return entry
