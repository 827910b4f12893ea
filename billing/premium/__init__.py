"""Premium services' revenue (CXENGAGE Part V: premium SMS, direct carrier billing and premium
voice): revenue statements per period per operator, paid out only as far as the operators paid,
less chargebacks, fees and charges, with the right of offset against open invoices; payment
disputes within 10 days with documents; the client's advance notice of service changes.

It lives in billing because the offset pays the client's invoices (billing.invoicing); only a
provider whose profile `offers_premium_services` has it."""
