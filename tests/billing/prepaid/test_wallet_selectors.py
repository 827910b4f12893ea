"""What the client sees of its wallet: balance, usable now, pending, lots, ledger and CSV (art. 29.3)."""

import csv
import datetime as dt
import io
from decimal import Decimal

from billing.prepaid.selectors import ledger_csv, ledger_list, wallet_check, wallet_summary
from billing.prepaid.services.debits import wallet_debit
from billing.prepaid.services.wallets import wallet_for_client
from tests.billing.factories import check, prepaid_client, top_up
from tests.billing.prepaid.helpers import SH


def test_summary_splits_usable_now_from_pending_until_tomorrow(prepaid, wallet):
    top_up(wallet, "100.00", dt.datetime(2026, 3, 1, 10, tzinfo=SH), reference="OLD")
    top_up(wallet, "40.00", dt.datetime(2026, 5, 31, 23, 59, tzinfo=SH), reference="NEW")
    wallet_debit(
        wallet=wallet,
        amount="25.00",
        idempotency_key="d",
        cause="sms",
        at=dt.datetime(2026, 5, 31, 23, 59, 30, tzinfo=SH),
    )
    summary = wallet_summary(client=prepaid, at=dt.datetime(2026, 5, 31, 23, 59, 59, tzinfo=SH))
    assert summary["currency"] == "CNY"
    assert summary["balance"] == Decimal("115.00")
    assert summary["usable_now"] == Decimal("75.00")
    assert summary["pending"] == Decimal("40.00")
    old, new = summary["lots"]
    assert old["reference"] == "OLD" and old["purchase_date"] == dt.date(2026, 3, 1)
    assert old["expires_on"] == dt.date(2027, 3, 1) and old["last_usable_day"] == dt.date(
        2027, 2, 28
    )
    assert old["remaining"] == Decimal("75.00") and old["state"] == "usable"
    assert new["state"] == "pending" and new["usable_from"] == dt.datetime(2026, 6, 1, tzinfo=SH)
    # at midnight the pending credit becomes usable
    at_midnight = wallet_summary(client=prepaid, at=dt.datetime(2026, 6, 1, tzinfo=SH))
    assert at_midnight["usable_now"] == Decimal("115.00") and at_midnight["pending"] == 0


def test_summary_of_a_client_without_a_wallet_is_empty(cm):
    summary = wallet_summary(client=prepaid_client(cm))
    assert summary["balance"] == 0 and summary["lots"] == []


def test_ledger_filters_by_kind_and_local_date_range(prepaid, wallet):
    top_up(wallet, "100.00", dt.datetime(2026, 3, 1, 10, tzinfo=SH))
    wallet_debit(
        wallet=wallet,
        amount="1.00",
        idempotency_key="a",
        cause="sms",
        at=dt.datetime(2026, 3, 2, 0, 30, tzinfo=SH),
    )
    wallet_debit(
        wallet=wallet,
        amount="2.00",
        idempotency_key="b",
        cause="sms",
        at=dt.datetime(2026, 3, 3, 23, 30, tzinfo=SH),
    )
    wallet_debit(
        wallet=wallet,
        amount="3.00",
        idempotency_key="c",
        cause="sms",
        at=dt.datetime(2026, 3, 4, 0, 30, tzinfo=SH),
    )
    assert ledger_list(client=prepaid).count() == 4
    debits = ledger_list(client=prepaid, filters={"kind": "debit"})
    assert [e.idempotency_key for e in debits] == ["c", "b", "a"]
    in_range = ledger_list(
        client=prepaid, filters={"date_from": "2026-03-02", "date_to": dt.date(2026, 3, 3)}
    )
    assert [e.idempotency_key for e in in_range] == ["b", "a"]


def test_ledger_is_scoped_to_the_client(prepaid, wallet, cm):
    other = prepaid_client(cm)
    top_up(wallet_for_client(client=other), "5.00", dt.datetime(2026, 3, 1, tzinfo=SH))
    top_up(wallet, "7.00", dt.datetime(2026, 3, 1, tzinfo=SH))
    assert [e.amount for e in ledger_list(client=prepaid)] == [Decimal("7.00")]
    assert wallet_summary(client=prepaid)["balance"] == Decimal("7.00")


def test_ledger_csv_has_one_row_per_entry_in_local_time(prepaid, wallet):
    top_up(wallet, "100.00", dt.datetime(2026, 3, 1, 10, tzinfo=SH), reference="BANK-9")
    wallet_debit(
        wallet=wallet,
        amount="1.50",
        idempotency_key="=cmd",
        cause="-sms",
        at=dt.datetime(2026, 3, 2, tzinfo=SH),
    )
    rows = list(csv.reader(io.StringIO(ledger_csv(client=prepaid))))
    assert rows[0][:3] == ["created_at", "kind", "amount"]
    assert rows[1][1:5] == ["debit", "-1.50", "CNY", "98.50"]
    assert rows[1][0].startswith("2026-03-02T00:00:00+08:00")
    assert rows[1][6] == "'-sms" and rows[1][7] == "'=cmd"  # no formula injection
    assert rows[2][5] == "BANK-9"


def test_wallet_check_detects_a_balance_that_drifted(wallet):
    from billing.models import Wallet

    top_up(wallet, "10.00", dt.datetime(2026, 3, 1, tzinfo=SH))
    check(wallet)
    Wallet.objects.filter(pk=wallet.pk).update(balance=Decimal("11.00"))
    result = wallet_check(wallet=wallet)
    assert not result["ok"] and result["ledger"] == result["lots"] == Decimal("10.00")
