"""camt.053 statements built for the tests, entry by entry (the sample files beside them in
statements/ show a bank's layout; these vary the amounts and references a test needs)."""

from __future__ import annotations

from decimal import Decimal
from xml.sax.saxutils import escape

IBAN = "NL93DEMO0123456789"


def camt053(
    entries: list[dict], *, statement_id: str = "T-STMT-1", iban: str = IBAN, ccy: str = "EUR"
) -> bytes:
    """Each entry: amount, ref (bank reference), and optional structured, text, payer, date,
    debit."""
    rows = []
    total = Decimal("0")
    for e in entries:
        amount = Decimal(str(e["amount"]))
        debit = e.get("debit", False)
        total += -amount if debit else amount
        strd = (
            f"<Strd><CdtrRefInf><Ref>{escape(e['structured'])}</Ref></CdtrRefInf></Strd>"
            if e.get("structured")
            else ""
        )
        ustrd = f"<Ustrd>{escape(e['text'])}</Ustrd>" if e.get("text") else ""
        payer = escape(e.get("payer", "Some Payer B.V."))
        rows.append(
            f'<Ntry><Amt Ccy="{e.get("ccy", ccy)}">{amount:.2f}</Amt>'
            f"<CdtDbtInd>{'DBIT' if debit else 'CRDT'}</CdtDbtInd><Sts>BOOK</Sts>"
            f"<BookgDt><Dt>{e.get('date', '2026-03-05')}</Dt></BookgDt>"
            f"<AcctSvcrRef>{escape(e['ref'])}</AcctSvcrRef>"
            f"<NtryDtls><TxDtls><RltdPties><Dbtr><Nm>{payer}</Nm></Dbtr></RltdPties>"
            f"<RmtInf>{ustrd}{strd}</RmtInf></TxDtls></NtryDtls></Ntry>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>'
        "<GrpHdr><MsgId>T</MsgId><CreDtTm>2026-03-05T18:00:00</CreDtTm></GrpHdr>"
        f"<Stmt><Id>{statement_id}</Id><Acct><Id><IBAN>{iban}</IBAN></Id><Ccy>{ccy}</Ccy></Acct>"
        f'<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="{ccy}">0.00</Amt>'
        "<CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-03-04</Dt></Dt></Bal>"
        f'<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="{ccy}">{abs(total):.2f}</Amt>'
        f"<CdtDbtInd>{'DBIT' if total < 0 else 'CRDT'}</CdtDbtInd><Dt><Dt>2026-03-05</Dt></Dt></Bal>"
        + "".join(rows)
        + "</Stmt></BkToCstmrStmt></Document>"
    ).encode()
