"""Getting paid in a real browser (issue 14 §4): billing staff upload a bank statement, see the
summary, assign the unmatched entry to an invoice; the client sees its invoices paid, with the
payment reference and the EPC QR code on an open one."""

import re

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from accounts.kernel.dates import local_date
from accounts.models import Provider
from billing.invoicing.services import bank_details
from billing.invoicing.services import invoices as invoice_services
from billing.models import BankAccount, Invoice
from tests.accounts.factories import BillingStaffFactory, ClientAdminFactory
from tests.billing.invoicing.factories import company, line
from tests.billing.invoicing.test_statements import FILES
from tests.conftest import PASSWORD

from .test_onboarding import sign_in, sign_out

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_staff_import_a_statement_assign_the_unmatched_entry_and_the_client_sees_it_paid(
    page, artifacts
):
    # given: cxengage-nl's euro account and five open euro invoices
    cx = Provider.objects.get(code="cxengage-nl")
    staff = BillingStaffFactory(email="ledger@provider.example")
    bank_details.bank_account_save(
        account=BankAccount(
            provider=cx,
            currency="EUR",
            account_holder="CXENGAGE B.V.",
            bank_name="DEMO Bank Amsterdam",
            iban="NL93DEMO0123456789",
            bic="DEMONL2A",
            is_primary=True,
        ),
        acting_user=staff,
    )
    tulip = company(cx, legal_name="Tulip Logistics B.V.")
    polder = company(cx, legal_name="Polder Health B.V.")
    admin = ClientAdminFactory(client=tulip, email="anne@tulip.example")
    today = local_date(cx)
    invoices = []
    for client, amount in (
        (tulip, "1000.00"),
        (tulip, "500.00"),
        (tulip, "800.00"),
        (polder, "250.00"),
        (tulip, "123.45"),
    ):
        draft = invoice_services.invoice_draft(
            client=client,
            lines=[line(amount, vat_rate="0")],
            acting_user=staff,
            currency="EUR",
        )
        invoices.append(
            invoice_services.invoice_issue(invoice=draft, acting_user=staff, invoice_date=today)
        )
    fifth = invoices[4]

    # when: billing staff sign in (TOTP) and upload the bank's camt.053 statement
    device = TOTPDevice.objects.create(user=staff, name="phone", confirmed=True)
    sign_in(page, staff.email, PASSWORD)
    expect(page).to_have_url(re.compile(r"/accounts/two-factor/"))
    page.fill("#id_code", f"{totp(device.bin_key):06d}")
    page.click("button:has-text('Verify')")
    page.goto("/billing/statements/")
    page.set_input_files("#id_file", str(FILES / "camt053_demo.xml"))
    page.click("button:has-text('Import')")

    # then: the summary shows what was matched (the task ran after the upload committed)
    expect(page.get_by_test_id("import-status")).to_have_text("Done")
    expect(page.get_by_test_id("matched")).to_have_text("3")
    expect(page.get_by_test_id("partly-matched")).to_have_text("1")
    expect(page.get_by_test_id("unmatched")).to_have_text("1")
    expect(page.get_by_test_id("duplicates")).to_have_text("1")
    page.screenshot(path=str(artifacts / "statement_summary.png"), full_page=True)

    # when: staff assign the unmatched entry to the fifth invoice in one action
    page.goto("/billing/statements/unmatched/")
    row = page.get_by_test_id("unmatched-row")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Unknown Trading GmbH")
    row.locator("input[name='invoice']").fill(fifth.number)
    row.get_by_role("button", name="Assign").click()
    expect(page.locator(".messages")).to_contain_text(f"recorded as a payment of {fifth.number}")
    expect(page.get_by_test_id("unmatched-row")).to_have_count(0)
    sign_out(page)

    # then: the client sees its invoices paid, and the partly paid one still shows how to pay
    sign_in(page, admin.email, PASSWORD)
    page.goto(f"/billing/invoices/{fifth.pk}/")
    expect(page.get_by_text("Paid", exact=True).first).to_be_visible()
    assert Invoice.objects.get(pk=fifth.pk).status == Invoice.Status.PAID
    partly = invoices[2]
    page.goto(f"/billing/invoices/{partly.pk}/")
    expect(page.get_by_test_id("due-now")).to_have_text("EUR 12.50")
    expect(page.get_by_test_id("payment-reference")).to_have_text(partly.payment_reference)
    expect(page.get_by_test_id("epc-qr")).to_be_visible()
    page.screenshot(path=str(artifacts / "invoice_how_to_pay.png"), full_page=True)
    assert [i.status for i in Invoice.objects.order_by("pk")] == [
        "paid",
        "paid",
        "partly_paid",
        "paid",
        "paid",
    ]
