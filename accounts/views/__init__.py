"""Pages of accounts, one module per noun: sign_in (sign-in, two-factor, password reset),
onboarding, clients (the staff's client list and detail), change_requests (with the client's
company page), users, data_requests, agreements (suspension, notice, default, termination) and
terms. accounts/urls.py routes to them; shared page helpers are in base.py.

Views are thin: forms check the shape, the services (accounts.services.<noun>) make every change
and refuse with an ApplicationError that is shown on the field it names, selectors read. Another
client's id answers 404 (the selectors' NotFound), never 403.
"""
