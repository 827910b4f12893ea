"""The EPC069-12 QR code ("GiroCode") of an invoice's SEPA credit transfer, drawn with segno's
EPC helper: a client's banking app scans it and fills in the beneficiary, IBAN, BIC, the
euro amount and the structured RF reference (`selectors.epc_transfer` decides when it applies
and what it carries; this module only draws it).

The same PNG is shown on the invoice page and embedded in the PDF, as a data: URI (the
Content-Security-Policy allows data: images).
"""

from __future__ import annotations

import base64
import io

import segno
import segno.helpers

from .selectors import EpcTransfer


def epc_qr(transfer: EpcTransfer) -> segno.QRCode:
    """The QR code: EPC069-12 version 002, error correction M, structured reference."""
    return segno.helpers.make_epc_qr(
        name=transfer.name,
        iban=transfer.iban,
        amount=transfer.amount,
        reference=transfer.reference,
        bic=transfer.bic or None,
    )


def epc_qr_png(transfer: EpcTransfer, *, scale: int = 5) -> bytes:
    out = io.BytesIO()
    epc_qr(transfer).save(out, kind="png", scale=scale, border=4)
    return out.getvalue()


def epc_qr_data_uri(transfer: EpcTransfer | None) -> str:
    """A data: URI of the PNG, or "" when there is no transfer to draw."""
    if transfer is None:
        return ""
    return "data:image/png;base64," + base64.b64encode(epc_qr_png(transfer)).decode("ascii")
