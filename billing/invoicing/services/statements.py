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

Before the invoice number (step 2), a reference may be a client's own (`payment_references`:
`NL-C000042`, or its RF form): a prepaid client's entry becomes a top-up of its wallet, usable
the next day (art. 29.3), and any other client's entry its client credit (a payment without
an invoice, art. 9.1). A reference or number that names an invoice paid already makes the
entry that invoice's client's credit too (an overpayment).

A matched entry is recorded as `payments.payment_record` records a payment (idempotency key =
the bank reference), so the rules of art. 4.10 hold as for a payment typed in: "The net amount
received by CM shall correspond to the amount invoiced. In this regard, the Client remains
liable to pay the any shortfall": an entry short by bank fees leaves the invoice partly paid
(the entry is "partly matched"), and what an entry holds beyond what is outstanding becomes
the client's credit (art. 9.1), never absorbed. What is not matched waits in the staff queue,
where staff assign it to an invoice or a client with one action, or mark it refunded.

Matching works a batch (`BATCH` entries) at a time with a constant number of queries: the
invoices and clients the batch's references name are read in one query each, the open
invoices of its amounts in one, and its plain payments are written set-wise
(`_record_payments_in_bulk`); only top-ups, credit and payments that need the follow-ups of
`payment_record` (a dispute, messages released, a suspension lifted) go one by one.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import (
    CharField,
    DecimalField,
    F,
    Field,
    Func,
    Model,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, Lower
from django.utils import timezone
from django.utils.translation import gettext
from simple_history.utils import bulk_update_with_history

from accounts.kernel.dates import local_midnight
from accounts.kernel.errors import ApplicationError, Conflict, ValidationFailed
from accounts.kernel.history import with_history_user
from accounts.kernel.inputs import clean_text
from accounts.kernel.money import DECIMAL_PLACES, MAX_DIGITS
from accounts.kernel.roles import require_billing_staff
from accounts.models import Client, Suspension, User
from accounts.selectors import clients_visible_to, provider_scope, providers_visible_to, scoped
from billing.models import (
    BankAccount,
    ClientCreditEntry,
    Dispute,
    Invoice,
    Payment,
    SetOff,
    StatementEntry,
    StatementImport,
)
from billing.payment_references import RF_REFERENCE, client_ids_quoted
from billing.prepaid.services import wallets

from ..statement_files import ParsedEntry, StatementFileError, parse_statement
from . import _common, client_credit
from ._common import OPEN_DISPUTE_STATUSES, OPEN_STATUSES, ZERO
from .payments import payment_record

log = logging.getLogger(__name__)

BATCH = 500
INVOICE_NUMBER = re.compile(r"\b[A-Z]{2}-\d{4}-\d{6,}\b")


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


# --- Matching, a batch at a time (issue 14 §4: a constant number of queries per batch) ---------
@dataclass(slots=True)
class _Decision:
    """What one entry is: a payment of `invoice`, a top-up or credit of `client`, or nothing."""

    kind: str  # "invoice" | "top_up" | "credit" | "none"
    how: str = ""
    invoice: Invoice | None = None
    client: Client | None = None
    credit_kind: str = ""
    note: str = ""


def _set_off_sum() -> Coalesce:
    return Coalesce(
        Subquery(
            SetOff.objects.filter(invoice_id=OuterRef("pk"))
            .values("invoice_id")
            .annotate(s=Sum("amount"))
            .values("s")[:1]
        ),
        Value(ZERO),
        output_field=DecimalField(max_digits=MAX_DIGITS, decimal_places=DECIMAL_PLACES),
    )


def _set_off(invoice: Invoice) -> Decimal:
    """The set-offs' sum `_set_off_sum` annotated on the row."""
    return Decimal(getattr(invoice, "set_off_sum", ZERO))


def _outstanding(invoice: Invoice) -> Decimal:
    left: Decimal = invoice.total - invoice.amount_paid - _set_off(invoice)
    return max(left, ZERO)


def _references(entry: StatementEntry) -> tuple[list[str], list[str]]:
    """The RF/structured references and the invoice numbers an entry quotes."""
    text = (entry.remittance_text or "").upper()
    references = [entry.structured_reference] if entry.structured_reference else []
    references += RF_REFERENCE.findall(text.replace(" ", ""))
    return list(dict.fromkeys(references)), list(dict.fromkeys(INVOICE_NUMBER.findall(text)))


def _decide(
    entry: StatementEntry,
    *,
    references: list[str],
    numbers: list[str],
    client_ids: list[int],
    invoices: dict[str, Invoice],
    clients: dict[int, Client],
) -> _Decision:
    """Steps 1-3 of the matching order (reference, client reference, invoice number, a paid
    invoice quoted again); the amount-and-payer step needs the batch's other lookups."""
    for keys, how in ((references, StatementEntry.MatchedBy.REFERENCE), (numbers, "number")):
        found = list({inv.pk: inv for k in keys if (inv := invoices.get(k)) is not None}.values())
        if how == StatementEntry.MatchedBy.REFERENCE:
            quoted = list({c.pk: c for i in client_ids if (c := clients.get(i))}.values())
            if not found and len(quoted) == 1:
                client = quoted[0]
                if client.billing_mode == Client.BillingMode.PREPAID:
                    return _Decision(
                        "top_up", StatementEntry.MatchedBy.CLIENT_REFERENCE, client=client
                    )
                return _Decision(
                    "credit",
                    StatementEntry.MatchedBy.CLIENT_REFERENCE,
                    client=client,
                    credit_kind=ClientCreditEntry.Kind.UNAPPLIED,
                )
            if not found and len(quoted) > 1:
                return _Decision("none", note="The payment quotes several clients' references.")
        same_currency = [i for i in found if i.currency == entry.currency]
        open_ = [i for i in same_currency if i.status in OPEN_STATUSES]
        matched_by = (
            how
            if how == StatementEntry.MatchedBy.REFERENCE
            else StatementEntry.MatchedBy.INVOICE_NUMBER
        )
        if len(open_) == 1:
            return _Decision("invoice", matched_by, invoice=open_[0])
        paid = [i for i in same_currency if i.status == Invoice.Status.PAID]
        if not open_ and len(paid) == 1:
            # a paid invoice paid again: the money is the client's credit (art. 9.1)
            return _Decision(
                "credit",
                matched_by,
                invoice=paid[0],
                client=paid[0].client,
                credit_kind=ClientCreditEntry.Kind.OVERPAYMENT,
            )
    if references or numbers:
        return _Decision("none", note="The reference names no open invoice in this currency.")
    return _Decision("none", note="No reference, invoice number or unique amount and payer.")


def _by_amount_and_payer(
    entries: list[StatementEntry], decisions: dict[int, _Decision], provider_id: int, user: User
) -> None:
    """Step 4 for the entries that quote nothing: the only open invoice whose outstanding amount
    equals the entry's and whose client's name is the payer's. One query for the batch."""
    wanted = [
        e
        for e in entries
        if decisions[e.pk].kind == "none"
        and decisions[e.pk].note.startswith("No reference")
        and _normalised(e.payer_name)
    ]
    if not wanted:
        return
    rows = (
        scoped(
            Invoice.objects.filter(
                provider_id=provider_id,
                kind=Invoice.Kind.INVOICE,
                status__in=OPEN_STATUSES,
                currency__in={e.currency for e in wanted},
            ),
            user=user,
        )
        # the payer's name compared as `_normalised` does (letters and digits, case ignored),
        # so the database narrows by client first; Python checks again below
        .annotate(
            payer_key=Func(
                Lower(F("client__legal_name")),
                Value("[^[:alnum:]]+"),
                Value(""),
                Value("g"),
                function="regexp_replace",
                output_field=CharField(),
            )
        )
        .filter(payer_key__in={_normalised(e.payer_name) for e in wanted})
        .annotate(set_off_sum=_set_off_sum())
        .annotate(left=F("total") - F("amount_paid") - F("set_off_sum"))
        .filter(left__in={e.amount for e in wanted})
        .select_related("client", "provider")
    )
    by_amount: dict[tuple[Decimal, str], list[Invoice]] = defaultdict(list)
    for inv in rows:
        by_amount[(inv.left, inv.currency)].append(inv)
    for e in wanted:
        payer = _normalised(e.payer_name)
        found = [
            i
            for i in by_amount.get((e.amount, e.currency), [])
            if _normalised(i.client.legal_name) == payer
        ]
        if len(found) == 1:
            decisions[e.pk] = _Decision(
                "invoice", StatementEntry.MatchedBy.AMOUNT_PAYER, invoice=found[0]
            )
        elif len(found) > 1:
            decisions[e.pk] = _Decision(
                "none", note=f"{len(found)} open invoices of this payer for this amount."
            )


def _decisions(entries: list[StatementEntry], user: User) -> dict[int, _Decision]:
    """How each entry of a batch is matched: three queries whatever the batch's size (the
    invoices its references and numbers name, the clients its client references name, and the
    open invoices of its amounts)."""
    if not entries:
        return {}
    provider = entries[0].provider
    quoted = {e.pk: _references(e) for e in entries}
    client_ids = {
        e.pk: client_ids_quoted(
            country=provider.country,
            references=quoted[e.pk][0],
            text=e.remittance_text or "",
        )
        for e in entries
    }
    refs = {r for refs, _ in quoted.values() for r in refs}
    numbers = {n for _, nums in quoted.values() for n in nums}
    invoices: dict[str, Invoice] = {}
    if refs or numbers:
        for inv in (
            scoped(
                Invoice.objects.filter(provider_id=provider.pk, kind=Invoice.Kind.INVOICE).filter(
                    Q(payment_reference__in=refs) | Q(number__in=numbers)
                ),
                user=user,
            )
            .annotate(set_off_sum=_set_off_sum())
            .select_related("client", "provider")
        ):
            if inv.payment_reference:
                invoices[inv.payment_reference] = inv
            if inv.number:
                invoices[inv.number] = inv
    wanted_clients = {i for ids in client_ids.values() for i in ids}
    clients = (
        {
            c.pk: c
            for c in clients_visible_to(user)
            .filter(provider_id=provider.pk, pk__in=wanted_clients)
            .select_related("provider")
        }
        if wanted_clients
        else {}
    )
    decisions = {
        e.pk: _decide(
            e,
            references=quoted[e.pk][0],
            numbers=quoted[e.pk][1],
            client_ids=client_ids[e.pk],
            invoices=invoices,
            clients=clients,
        )
        for e in entries
    }
    _by_amount_and_payer(entries, decisions, provider.pk, user)
    return decisions


def _payment_key(entry: StatementEntry) -> str:
    return f"statement-entry:{entry.provider_id}:{entry.bank_reference}"


def _record(
    entry: StatementEntry, invoice: Invoice, *, user: User, matched_by: str, status: str | None
) -> None:
    """Record the entry as a payment of `invoice` (art. 4.10) and mark how it was matched;
    what is beyond the outstanding amount becomes the client's credit (art. 9.1)."""
    reference = " ".join(
        part for part in (entry.bank_reference, entry.structured_reference) if part
    )
    key = _payment_key(entry)
    payment = payment_record(
        invoice=invoice,
        amount=entry.amount,
        received_on=entry.booking_date,
        reference=reference,
        idempotency_key=key,
        acting_user=user,
        excess_to_credit=True,
    )
    invoice.refresh_from_db(fields=["status"])
    entry.invoice = invoice
    entry.payment = payment
    entry.client = invoice.client
    entry.matched_by = matched_by
    excess = (
        ClientCreditEntry.objects.filter(
            credit__client_id=invoice.client_id, idempotency_key=f"{key}:excess"
        )
        .order_by("pk")
        .first()
    )
    if excess is not None:
        entry.credit_entry = excess
        entry.credited = excess.amount
    if status is None:
        status = (
            StatementEntry.Status.MATCHED
            if invoice.status == Invoice.Status.PAID
            else StatementEntry.Status.PARTLY_MATCHED
        )
    entry.status = status
    entry.note = (
        f"{entry.currency} {entry.credited:,.2f} beyond the invoice credited to the client "
        "(art. 9.1)."
        if excess is not None
        else ""
    )


def _top_up(entry: StatementEntry, client: Client, *, user: User, status: str) -> None:
    """An entry quoting a prepaid client's reference becomes a top-up of its wallet, usable the
    day after the money was received (art. 29.3: "Pre-paid credits and balance can be used by
    the Pre-Paid Client the day following the day the amount is received by CM"); its
    idempotency key is the bank reference, so a statement imported twice tops up once. An
    amount of zero, another currency than the wallet's, or a booking date to come is refused
    (the entry waits for staff)."""
    provider = client.provider
    if entry.booking_date > _common.today(provider):
        raise ValidationFailed(
            {"booking_date": [gettext("A payment is not received in the future.")]}
        )
    wallet = wallets.wallet_for_client(client=client)
    if wallet.currency != entry.currency:
        raise ApplicationError(
            f"The wallet of {client.legal_name} is kept in {wallet.currency}; this entry is "
            f"{entry.currency} (art. 29.1).",
            field="entry",
            article="29.1",
        )
    # the money arrived on the booking date: the last moment of that local day, never after now
    received_at = min(
        _common.now(),
        local_midnight(provider, entry.booking_date + dt.timedelta(days=1))
        - dt.timedelta(microseconds=1),
    )
    lot = wallets.wallet_top_up(
        wallet=wallet,
        amount=entry.amount,
        received_at=received_at,
        reference=entry.bank_reference,
        idempotency_key=_payment_key(entry),
        acting_user=user,
    )
    entry.lot = lot
    entry.client = client
    entry.matched_by = StatementEntry.MatchedBy.CLIENT_REFERENCE
    entry.status = status
    entry.note = ""


def _credit(
    entry: StatementEntry,
    client: Client,
    *,
    kind: str,
    invoice: Invoice | None,
    user: User,
    matched_by: str,
) -> None:
    """An entry that pays no open invoice but names its client (its client reference, or an
    invoice paid already) becomes that client's credit (art. 9.1), never absorbed."""
    if entry.booking_date > _common.today(client.provider):
        raise ValidationFailed(
            {"booking_date": [gettext("A payment is not received in the future.")]}
        )
    credit_entry = client_credit.client_credit_add(
        client=client,
        currency=entry.currency,
        amount=entry.amount,
        kind=kind,
        received_on=entry.booking_date,
        reference=entry.bank_reference,
        idempotency_key=_payment_key(entry),
        acting_user=user,
        invoice=invoice,
    )
    entry.client = client
    entry.invoice = invoice
    entry.credit_entry = credit_entry
    entry.credited = credit_entry.amount
    entry.matched_by = matched_by
    entry.status = StatementEntry.Status.CREDITED
    entry.note = (
        f"Invoice {invoice.number} was paid already: credited to the client (art. 9.1)."
        if invoice is not None
        else "Payment without an invoice: credited to the client (art. 9.1)."
    )


def _one_by_one(entry: StatementEntry, decision: _Decision, *, user: User) -> None:
    """Record one entry in its own savepoint; a refusal leaves it unmatched with the reason."""
    try:
        with transaction.atomic():
            if decision.kind == "invoice":
                assert decision.invoice is not None
                _record(entry, decision.invoice, user=user, matched_by=decision.how, status=None)
            elif decision.kind == "top_up":
                assert decision.client is not None
                _top_up(entry, decision.client, user=user, status=StatementEntry.Status.TOP_UP)
            else:
                assert decision.client is not None
                _credit(
                    entry,
                    decision.client,
                    kind=decision.credit_kind,
                    invoice=decision.invoice,
                    user=user,
                    matched_by=decision.how,
                )
            with_history_user(entry, user).save()
    except ApplicationError as exc:
        entry.refresh_from_db()
        target = decision.invoice.number if decision.invoice else str(decision.client)
        entry.note = f"Found {target}, not recorded: {exc.message}"[:300]
        with_history_user(entry, user).save(update_fields=["note"])


def _invoice_status(invoice: Invoice, today: dt.date) -> str:
    """`invoices.invoice_status_refresh` for an invoice without an open dispute (art. 4.5)."""
    settled = invoice.amount_paid + _set_off(invoice)
    if settled >= invoice.total:
        return Invoice.Status.PAID
    if invoice.due_date and invoice.due_date < today:
        if invoice.overdue_since is None:
            invoice.overdue_since = invoice.due_date + dt.timedelta(days=1)
        return Invoice.Status.OVERDUE
    return Invoice.Status.PARTLY_PAID if settled > 0 else Invoice.Status.ISSUED


def _record_payments_in_bulk(
    pairs: list[tuple[StatementEntry, _Decision]], *, user: User
) -> list[tuple[StatementEntry, _Decision]]:
    """Record the plain payments of a batch set-wise (art. 4.10, as `payment_record` does):
    invoices locked in one query, payments inserted in one, invoices and entries updated with
    their history rows in two each. What needs more than that goes back to the caller to be
    recorded one by one: an invoice under an open dispute (its status depends on it), one whose
    messages are released on payment (art. 26.2), a client suspended for non-payment (art.
    7.3), an entry beyond what is outstanding (the excess becomes credit), a key seen before."""
    if not pairs:
        return []
    ids = {d.invoice.pk for _, d in pairs if d.invoice is not None}
    provider = pairs[0][0].provider
    today = _common.today(provider)
    disputed = set(
        Dispute.objects.filter(invoice_id__in=ids, status__in=OPEN_DISPUTE_STATUSES).values_list(
            "invoice_id", flat=True
        )
    )
    suspended = set(
        Suspension.objects.filter(
            client__invoices__in=ids, cause=Suspension.Cause.NON_PAYMENT, ended_at=None
        ).values_list("client_id", flat=True)
    )
    keys = {_payment_key(e): e for e, _ in pairs}
    seen = set(
        Payment.objects.filter(idempotency_key__in=keys).values_list("idempotency_key", flat=True)
    )
    locked = {
        inv.pk: inv
        for inv in Invoice.objects.select_for_update(of=("self",))
        .filter(pk__in=ids)
        .annotate(set_off_sum=_set_off_sum())
        .order_by("pk")
    }
    later: list[tuple[StatementEntry, _Decision]] = []
    payments: list[Payment] = []
    booked: list[tuple[StatementEntry, Invoice, Payment, str]] = []
    for entry, decision in pairs:
        assert decision.invoice is not None
        inv = locked.get(decision.invoice.pk)
        if (
            inv is None
            or inv.status not in OPEN_STATUSES
            or inv.pk in disputed
            or inv.client_id in suspended
            or inv.messages_covered
            or _payment_key(entry) in seen
            or entry.booking_date > today
            or entry.amount <= 0
            or entry.amount > _outstanding(inv)
        ):
            later.append((entry, decision))
            continue
        payment = Payment(
            invoice=inv,
            amount=entry.amount,
            currency=inv.currency,
            received_on=entry.booking_date,
            reference=" ".join(p for p in (entry.bank_reference, entry.structured_reference) if p)[
                :200
            ],
            bank_fee=ZERO,
            recorded_by=user,
            idempotency_key=_payment_key(entry),
        )
        payments.append(payment)
        inv.amount_paid += entry.amount
        inv.status = _invoice_status(inv, today)
        booked.append((entry, inv, payment, decision.how))
    if booked:
        Payment.objects.bulk_create(payments)
        touched = list({row[1].pk: row[1] for row in booked}.values())
        _update_rows(touched, ["amount_paid", "status", "overdue_since"], user=user, model=Invoice)
        for entry, paid, payment, how in booked:
            entry.invoice = paid
            entry.payment = payment
            entry.client_id = paid.client_id
            entry.matched_by = how
            entry.note = ""
        for entry, paid, _, _ in booked:
            # after the whole batch: two entries may pay one invoice in full together
            entry.status = (
                StatementEntry.Status.MATCHED
                if paid.status == Invoice.Status.PAID
                else StatementEntry.Status.PARTLY_MATCHED
            )
        _update_rows(
            [e for e, _, _, _ in booked],
            ["invoice", "payment", "client", "matched_by", "note", "status"],
            user=user,
            model=StatementEntry,
        )
    return later


def _update_rows(objs: list[Any], fields: list[str], *, user: User, model: type[Model]) -> None:
    """Write `fields` of `objs` (their history rows too) in one UPDATE ... FROM unnest(...) on
    PostgreSQL: Django's `bulk_update` builds a CASE per row and field, which costs more than
    the whole match. Elsewhere (the SQLite first look) `bulk_update`."""
    if not objs:
        return
    if connection.vendor != "postgresql":
        bulk_update_with_history(objs, model, fields, default_user=user)
        return
    meta = model._meta
    columns: list[Field[Any, Any]] = []
    for name in fields:
        col = meta.get_field(name)
        assert isinstance(col, Field)
        columns.append(col)
    arrays = [[o.pk for o in objs]] + [
        [col.get_db_prep_value(getattr(o, col.attname), connection) for o in objs]
        for col in columns
    ]
    assert meta.pk is not None
    types = [meta.pk.db_type(connection)] + [col.db_type(connection) for col in columns]
    quote = connection.ops.quote_name
    names = ["id"] + [f"c{i}" for i in range(len(columns))]
    sets = ", ".join(f"{quote(str(col.column))} = u.c{i}" for i, col in enumerate(columns))
    unnest = ", ".join(f"%s::{kind}[]" for kind in types)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {quote(meta.db_table)} SET {sets} FROM unnest({unnest}) AS u({', '.join(names)}) "
            f"WHERE {quote(meta.db_table)}.{quote(str(meta.pk.column))} = u.id",
            arrays,
        )
    getattr(model, "history").bulk_history_create(objs, update=True, default_user=user)  # noqa: B009


def statement_entries_match(entries: list[StatementEntry], *, user: User) -> None:
    """Match a batch of new entries and record them (module docstring): the lookups and the
    plain payments take a constant number of queries whatever the batch's size; top-ups, client
    credit and the payments `_record_payments_in_bulk` hands back are recorded one by one."""
    if not entries:
        return
    decisions = _decisions(entries, user)
    unmatched = [e for e in entries if decisions[e.pk].kind == "none"]
    for e in unmatched:
        e.note = decisions[e.pk].note[:300]
    if unmatched:
        _update_rows(unmatched, ["note"], user=user, model=StatementEntry)
    plain = [(e, decisions[e.pk]) for e in entries if decisions[e.pk].kind == "invoice"]
    with transaction.atomic():
        later = _record_payments_in_bulk(plain, user=user)
    for entry, decision in later + [
        (e, decisions[e.pk]) for e in entries if decisions[e.pk].kind in ("top_up", "credit")
    ]:
        _one_by_one(entry, decision, user=user)


def statement_entry_match(entry: StatementEntry, *, user: User) -> str:
    """Match one new entry and record it, or leave it unmatched with the reason; its status."""
    statement_entries_match([entry], user=user)
    entry.refresh_from_db()
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
    provider_scope(user)  # the user's providers, read once (kept on the user) for every batch
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
            statement_entries_match(
                list(
                    StatementEntry.objects.filter(
                        statement=statement,
                        bank_reference__in=refs,
                        status=StatementEntry.Status.UNMATCHED,
                        note="",
                    )
                    .select_related("provider")
                    .order_by("pk")
                ),
                user=user,
            )
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
        "matched": entries.filter(
            status__in=[by.MATCHED, by.ASSIGNED, by.TOP_UP, by.CREDITED]
        ).count(),
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
    (art. 4.10; a shortfall stays owed, what is beyond the outstanding amount becomes the
    client's credit, art. 9.1). One action."""
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
def statement_entry_to_client(
    *, entry: StatementEntry, client: Client, acting_user: User
) -> StatementEntry:
    """Staff give an unmatched entry to the client that sent it without naming an invoice: a
    prepaid client's wallet is topped up (usable the next day, art. 29.3), any other client's
    credit grows (art. 9.1). One action; a refusal changes nothing."""
    require_billing_staff(acting_user)
    entry = _lock_unmatched(entry, acting_user)
    if client.provider_id != entry.provider_id:
        raise ValidationFailed(
            {
                "client": [
                    "The client is another provider's; this entry was received on the account of this one (art. 11.1)."
                ]
            },
            article="11.1",
        )
    client = Client.objects.select_related("provider").get(pk=client.pk)
    if client.billing_mode == Client.BillingMode.PREPAID:
        _top_up(entry, client, user=acting_user, status=StatementEntry.Status.TOP_UP)
    else:
        _credit(
            entry,
            client,
            kind=ClientCreditEntry.Kind.UNAPPLIED,
            invoice=None,
            user=acting_user,
            matched_by=StatementEntry.MatchedBy.STAFF,
        )
    entry.matched_by = StatementEntry.MatchedBy.STAFF
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
