"""Loss claims both ways and the provider's liability cap (art. 13; CX 13).

The register lives in billing because the cap is computed from the client's invoices and the
stored exchange rates (billing may use accounts; accounts uses neither app)."""
