"""The invoicing domain of billing (art. 4, 7, 9, 10; CXENGAGE art. 10): what a postpaid client
owes and how it is settled.

    services/  one module per noun; every change of the domain (services write)
    selectors  every read, scoped to the user who asks (selectors read)
    forms, views, pdf, api/   the pages, the PDF and the API over those two
    jobs       the scheduled jobs, composed by billing.jobs
"""
