"""The shared kernel every app may use (DESIGN.md, Layout): domain errors and the API's one
error shape, idempotency, pagination, role permissions and checks, notifications, dates,
money, input cleaning, history attribution and the PostgreSQL helpers.

Nothing here decides a rule of the contract; it is the plumbing the rules are written with.
"""
