"""Bank statement files read into plain entries (issue 14 §2): ISO 20022 camt.053 (statement)
and camt.054 (debit/credit notification) XML, and SWIFT MT940.

Libraries, and why:

* **MT940** with `mt-940` (PyPI `mt-940`, maintained since 2015, the most used MT940 parser
  for Python): it reads the tags (:20:, :25:, :60F:, :61:, :86:, :62F:) into transactions;
  the :86: information to the account owner is read here for the Dutch/SEPA structured form
  (`/REMI/…/NAME/…/IBAN/…`, `/EREF/`), with the plain text kept as remittance text.
* **camt.053 / camt.054** with `lxml` against the ISO 20022 structure
  (Document/BkToCstmrStmt/Stmt and Document/BkToCstmrDbtCdtNtfctn/Ntfctn, each Ntry with
  Amt, CdtDbtInd, BookgDt, AcctSvcrRef, NtryDtls/TxDtls/RltdPties and RmtInf): the camt
  packages on PyPI are young single-maintainer projects (0.x) that few use, and the message is
  regular enough that a parser of the elements we need is short and fully tested here. Any
  version of the messages is read (.001.02 … .001.13: the namespace's message name is checked,
  not its version); the element names used are the same in all of them, except the debtor's
  name (Dbtr/Nm up to .001.07, Dbtr/Pty/Nm from .001.08), and both are read. The parser
  refuses DTDs, entities and network access (no XXE).

Validation, so that a malformed file is refused before anything is stored: the structure must
be there (statement id, account, each entry's amount, currency, credit/debit mark, booking
date and the bank's reference), amounts must be decimals, and where the file gives opening and
closing balances they must agree with the booked entries (opening + credits − debits =
closing). Each refusal names the file and the entry and says what is wrong.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext

CAMT_053 = "camt.053"
CAMT_054 = "camt.054"
MT940 = "mt940"


class StatementFileError(ValueError):
    """The file is not a statement this portal reads; the message says what is wrong."""


@dataclass(frozen=True, slots=True)
class ParsedEntry:
    bank_reference: str
    booking_date: dt.date
    amount: Decimal  # positive; `credit` gives the direction
    currency: str
    credit: bool
    payer_name: str = ""
    payer_iban: str = ""
    structured_reference: str = ""
    remittance_text: str = ""


@dataclass(frozen=True, slots=True)
class ParsedStatement:
    format: str
    statement_id: str
    account: str  # IBAN or account number, compact
    currency: str
    sha256: str
    entries: list[ParsedEntry] = field(default_factory=list)


def parse_statement(content: bytes) -> ParsedStatement:
    """Read a camt.053, camt.054 or MT940 file; raise StatementFileError when it is none."""
    if not content or not content.strip():
        raise StatementFileError(gettext("The file is empty."))
    digest = hashlib.sha256(content).hexdigest()
    head = content.lstrip()[:200]
    if head.startswith(b"<"):
        return _parse_camt(content, digest)
    if b":20:" in content[:2000] or head.startswith(b"{1:"):
        return _parse_mt940(content, digest)
    raise StatementFileError(
        gettext("This is neither ISO 20022 camt.053/camt.054 XML nor a SWIFT MT940 statement.")
    )


def _decimal(raw: str | None, where: str) -> Decimal:
    try:
        value = Decimal((raw or "").strip().replace(",", "."))
    except InvalidOperation:
        raise StatementFileError(
            gettext("%(where)s: %(raw)s is not an amount.") % {"where": where, "raw": repr(raw)}
        ) from None
    if not value.is_finite() or value < 0:
        raise StatementFileError(
            gettext("%(where)s: %(raw)s is not an amount.") % {"where": where, "raw": repr(raw)}
        )
    return value


def _date(raw: str | None, where: str) -> dt.date:
    try:
        return dt.date.fromisoformat((raw or "").strip()[:10])
    except ValueError:
        raise StatementFileError(
            gettext("%(where)s: %(raw)s is not a date (YYYY-MM-DD).")
            % {"where": where, "raw": repr(raw)}
        ) from None


def _check_balances(
    opening: Decimal | None, closing: Decimal | None, entries: list[ParsedEntry], where: str
) -> None:
    if opening is None or closing is None:
        return
    moved = sum((e.amount if e.credit else -e.amount for e in entries), Decimal("0"))
    if opening + moved != closing:
        raise StatementFileError(
            gettext(
                "%(where)s: the entries do not add up: opening balance %(opening)s + entries %(moved)s ≠ closing balance %(closing)s. The file is incomplete or altered."
            )
            % {"where": where, "opening": opening, "moved": moved, "closing": closing}
        )


# --- camt.053 / camt.054 ----------------------------------------------------------------------
def _parse_camt(content: bytes, digest: str) -> ParsedStatement:
    from lxml import etree  # imported here: only statement imports need it

    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    try:
        root = etree.fromstring(content, parser)
    except etree.XMLSyntaxError as exc:
        raise StatementFileError(gettext("The XML is malformed: %(exc)s.") % {"exc": exc}) from None
    if root.getroottree().docinfo.doctype:
        raise StatementFileError(gettext("The XML has a DOCTYPE; ISO 20022 messages have none."))
    ns = etree.QName(root).namespace or ""
    match = re.fullmatch(r"urn:iso:std:iso:20022:tech:xsd:(camt\.05[34])\.001\.\d\d", ns)
    if etree.QName(root).localname != "Document" or not match:
        raise StatementFileError(
            gettext(
                "This XML is not an ISO 20022 camt.053 or camt.054 message (root %(localname)s, namespace %(ns)s)."
            )
            % {"localname": repr(etree.QName(root).localname), "ns": repr(ns)}
        )
    kind = match.group(1)
    n = {"c": ns}

    def text(node, path: str) -> str:
        found = node.find(path, n)
        return (found.text or "").strip() if found is not None and found.text else ""

    report = "c:BkToCstmrStmt/c:Stmt" if kind == CAMT_053 else "c:BkToCstmrDbtCdtNtfctn/c:Ntfctn"
    reports = root.findall(report, n)
    if len(reports) != 1:
        raise StatementFileError(
            gettext(
                "A %(kind)s file is read with exactly one %(block)s block; this one has %(reports)s."
            )
            % {
                "kind": kind,
                "block": "Stmt" if kind == CAMT_053 else "Ntfctn",
                "reports": len(reports),
            }
        )
    stmt = reports[0]
    statement_id = text(stmt, "c:Id")
    account = text(stmt, "c:Acct/c:Id/c:IBAN") or text(stmt, "c:Acct/c:Id/c:Othr/c:Id")
    if not statement_id:
        raise StatementFileError(gettext("The %(kind)s file has no statement Id.") % {"kind": kind})
    if not account:
        raise StatementFileError(
            gettext("The %(kind)s file names no account (Acct/Id/IBAN or Othr/Id).")
            % {"kind": kind}
        )
    account = account.replace(" ", "").upper()
    currency = text(stmt, "c:Acct/c:Ccy")
    entries: list[ParsedEntry] = []
    for i, ntry in enumerate(stmt.findall("c:Ntry", n), start=1):
        where = f"Entry {i}"
        status = text(ntry, "c:Sts") or text(ntry, "c:Sts/c:Cd")
        if status and status not in {"BOOK", "PDNG", "INFO"}:
            raise StatementFileError(
                gettext("%(where)s: status %(status)s is not BOOK, PDNG or INFO.")
                % {"where": where, "status": repr(status)}
            )
        if status in {"PDNG", "INFO"}:
            continue  # not booked: nothing has arrived yet
        amount_node = ntry.find("c:Amt", n)
        if amount_node is None:
            raise StatementFileError(gettext("%(where)s has no amount (Amt).") % {"where": where})
        amount = _decimal(amount_node.text, where)
        entry_currency = (amount_node.get("Ccy") or "").strip().upper()
        if not re.fullmatch(r"[A-Z]{3}", entry_currency):
            raise StatementFileError(
                gettext("%(where)s: the amount has no currency (Amt/@Ccy).") % {"where": where}
            )
        direction = text(ntry, "c:CdtDbtInd")
        if direction not in {"CRDT", "DBIT"}:
            raise StatementFileError(
                gettext("%(where)s: CdtDbtInd is %(direction)s, not CRDT or DBIT.")
                % {"where": where, "direction": repr(direction)}
            )
        booked = text(ntry, "c:BookgDt/c:Dt") or text(ntry, "c:BookgDt/c:DtTm")
        reference = text(ntry, "c:AcctSvcrRef") or text(
            ntry, "c:NtryDtls/c:TxDtls/c:Refs/c:AcctSvcrRef"
        )
        if not reference:
            raise StatementFileError(
                gettext(
                    "%(where)s has no bank reference (AcctSvcrRef): without it an entry cannot be told from one already imported."
                )
                % {"where": where}
            )
        tx = ntry.find("c:NtryDtls/c:TxDtls", n)
        payer_name = payer_iban = structured = remittance = ""
        if tx is not None:
            payer_name = (
                text(tx, "c:RltdPties/c:Dbtr/c:Nm")
                or text(tx, "c:RltdPties/c:Dbtr/c:Pty/c:Nm")
                or text(tx, "c:RltdPties/c:UltmtDbtr/c:Nm")
            )
            payer_iban = text(tx, "c:RltdPties/c:DbtrAcct/c:Id/c:IBAN")
            structured = text(tx, "c:RmtInf/c:Strd/c:CdtrRefInf/c:Ref")
            remittance = " ".join(
                (u.text or "").strip() for u in tx.findall("c:RmtInf/c:Ustrd", n)
            ).strip()
        entries.append(
            ParsedEntry(
                bank_reference=reference[:100],
                booking_date=_date(booked, where),
                amount=amount,
                currency=entry_currency,
                credit=direction == "CRDT",
                payer_name=payer_name[:200],
                payer_iban=payer_iban.replace(" ", "").upper()[:34],
                structured_reference=structured.replace(" ", "").upper()[:35],
                remittance_text=remittance[:500],
            )
        )
    opening = closing = None
    for bal in stmt.findall("c:Bal", n):
        code = text(bal, "c:Tp/c:CdOrPrtry/c:Cd")
        value = _decimal(bal.findtext("c:Amt", namespaces=n), f"Balance {code}")
        if text(bal, "c:CdtDbtInd") == "DBIT":
            value = -value
        if code in {"OPBD", "PRCD"}:
            opening = value
        elif code == "CLBD":
            closing = value
    _check_balances(opening, closing, entries, f"The {kind} statement {statement_id}")
    return ParsedStatement(
        format=kind,
        statement_id=statement_id[:100],
        account=account,
        currency=currency or (entries[0].currency if entries else ""),
        sha256=digest,
        entries=entries,
    )


# --- MT940 --------------------------------------------------------------------------------------
_TAGGED = re.compile(r"/(EREF|REMI|NAME|IBAN|BIC|ORDP|CSID|MARF|RTRN|SVCL|ISDT)/")


def _details(raw: str) -> dict[str, str]:
    """The Dutch/SEPA structured :86: (`/EREF/…/REMI/USTD//text/NAME/…/IBAN/…`), else {}."""
    parts = _TAGGED.split(raw.replace("\n", ""))
    if len(parts) < 3:
        return {}
    found: dict[str, str] = {}
    for tag, value in zip(parts[1::2], parts[2::2], strict=False):
        found[tag] = value.strip().strip("/")
    remi = found.get("REMI", "")
    if remi.startswith("USTD//"):
        found["USTD"] = remi[6:]
    elif remi.startswith("STRD/CUR/"):
        found["STRD"] = remi.split("/")[-1]
    else:
        found["USTD"] = remi
    return found


def _parse_mt940(content: bytes, digest: str) -> ParsedStatement:
    import mt940  # imported here: only statement imports need it

    try:
        data = content.decode("utf-8")
    except UnicodeDecodeError:
        data = content.decode("latin-1")  # SWIFT's character set is a subset of both
    transactions = mt940.models.Transactions()
    try:
        transactions.parse(data)
    except Exception as exc:  # noqa: BLE001 - the library raises many kinds; all mean "malformed"
        raise StatementFileError(
            gettext("The MT940 statement cannot be read: %(exc)s.") % {"exc": exc}
        ) from None
    head = transactions.data
    statement_id = str(head.get("transaction_reference") or "").strip()
    account = str(head.get("account_identification") or "").replace(" ", "").upper()
    if not statement_id:
        raise StatementFileError(
            gettext("The MT940 statement has no transaction reference (:20:).")
        )
    if not account:
        raise StatementFileError(gettext("The MT940 statement names no account (:25:)."))
    opening_balance = head.get("final_opening_balance") or head.get("opening_balance")
    closing_balance = head.get("final_closing_balance") or head.get("closing_balance")
    if opening_balance is None or closing_balance is None:
        raise StatementFileError(
            gettext("The MT940 statement has no opening (:60F:) or closing (:62F:) balance.")
        )
    currency = str(opening_balance.amount.currency)
    entries: list[ParsedEntry] = []
    for i, tr in enumerate(transactions, start=1):
        where = f"Entry {i} (:61:)"
        d = tr.data
        amount = d.get("amount")
        if amount is None or d.get("date") is None or d.get("status") not in {"C", "D", "RC", "RD"}:
            raise StatementFileError(
                gettext("%(where)s lacks its date, credit/debit mark or amount.") % {"where": where}
            )
        reference = str(d.get("bank_reference") or "").strip()
        if not reference:
            raise StatementFileError(
                gettext(
                    "%(where)s has no bank reference (the part after // in :61:): without it an entry cannot be told from one already imported."
                )
                % {"where": where}
            )
        raw = str(d.get("transaction_details") or "")
        tagged = _details(raw)
        value = Decimal(str(amount.amount))
        credit = d["status"] in {"C", "RD"}
        date = d.get("entry_date") or d["date"]
        entries.append(
            ParsedEntry(
                bank_reference=reference[:100],
                booking_date=dt.date(date.year, date.month, date.day),
                amount=abs(value),
                currency=str(amount.currency),
                credit=credit,
                payer_name=tagged.get("NAME", "")[:200],
                payer_iban=tagged.get("IBAN", "").replace(" ", "").upper()[:34],
                structured_reference=tagged.get("STRD", "").replace(" ", "").upper()[:35],
                remittance_text=(tagged.get("USTD", "") if tagged else raw).strip()[:500],
            )
        )
    _check_balances(
        Decimal(str(opening_balance.amount.amount)),
        Decimal(str(closing_balance.amount.amount)),
        entries,
        f"The MT940 statement {statement_id}",
    )
    return ParsedStatement(
        format=MT940,
        statement_id=statement_id[:100],
        account=account,
        currency=currency,
        sha256=digest,
        entries=entries,
    )
