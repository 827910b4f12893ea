"""The invoice and credit-note PDFs are in the client's language, whoever downloads them; a
cm-cn document is headed in Chinese and English side by side (issue 11 §2, art. 18.6)."""

import io

import pytest
from django.utils import translation
from pypdf import PdfReader

from accounts.kernel.dates import local_date
from accounts.kernel.languages import client_language, document_languages
from billing.invoicing.pdf import invoice_pdf
from billing.invoicing.services import invoices as invoice_services
from tests.billing.invoicing.factories import company, issued, line

pytestmark = pytest.mark.django_db


def pdf_text(invoice) -> str:
    content = invoice_pdf(invoice)
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def test_a_cm_invoice_is_headed_in_chinese_and_english_whoever_reads_it(cm, billing_staff, today):
    # given a cm-cn client without a language of its own (the profile's default: 简体中文)
    client = company(cm, language="")
    invoice = issued(client, billing_staff, [line("1000.00")], invoice_date=today)
    # when a Dutch-reading viewer downloads it
    with translation.override("nl"):
        text = pdf_text(invoice)
    # then the headings are Chinese with the English beside them, and nothing is Dutch
    for chinese, english in [
        ("发票", "Invoice"),
        ("付款方", "Bill to"),
        ("到期日", "Due date"),
        ("金额（不含增值税）", "Amount excl. VAT"),
        ("当前应付", "Due now"),
    ]:
        # (labels and column heads are printed in capitals: compare without case)
        assert chinese in text and english.lower() in text.lower(), (chinese, english)
    assert "Factuur" not in text and "Vervaldatum" not in text
    # the sentences are in the client's language
    assert "银行手续费由付款方承担" in text


def test_a_cm_credit_note_is_bilingual_too(cm, billing_staff, today):
    client = company(cm, language="")
    invoice = issued(client, billing_staff, [line("500.00")], invoice_date=today)
    invoice_services.invoice_void(invoice=invoice, acting_user=billing_staff, reason="Wrong client")
    note = invoice.credit_notes.get()
    text = pdf_text(note)
    assert "贷记单" in text and "Credit note" in text
    assert "冲减合计" in text and "total credited" in text.lower()


def test_a_cm_client_reading_english_gets_english_first_and_chinese_beside(
    cm, billing_staff, today
):
    client = company(cm, language="en")
    text = pdf_text(issued(client, billing_staff, [line("1000.00")], invoice_date=today))
    assert "Invoice 发票" in text.replace("\n", " ")


def test_a_dutch_cxengage_client_gets_a_dutch_pdf_in_dutch_only(cx, billing_staff):
    # given a cxengage-nl client that reads Dutch (the profile's terms name one language)
    client = company(cx, language="nl")
    invoice = issued(client, billing_staff, [line("1000.00")], invoice_date=local_date(cx))
    # when an English-reading member of staff downloads it
    with translation.override("en"):
        text = pdf_text(invoice)
    # then it is Dutch, with no second language beside the headings
    assert "Factuur" in text and "Vervaldatum" in text and "Nu verschuldigd" in text
    lowered = text.lower()
    assert "invoice" not in lowered and "due date" not in lowered and "发票" not in text


def test_a_cxengage_client_without_a_choice_gets_its_profiles_english(cx, billing_staff):
    client = company(cx, language="")
    text = pdf_text(issued(client, billing_staff, [line("1000.00")], invoice_date=local_date(cx)))
    assert "Invoice" in text and "factuur" not in text.lower()


def test_a_client_language_the_provider_does_not_offer_falls_back_to_its_default(cm):
    client = company(cm, language="nl")  # cm-cn offers 简体中文 and English only
    assert client_language(client) == "zh-hans"
    assert document_languages(client) == ["zh-hans", "en"]
