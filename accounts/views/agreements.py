"""The staff's agreement actions on the client page: suspend and resume the service (art. 7),
give notice (art. 15.2), send a notice of default and terminate for cause (art. 15.4-15.5)."""

from accounts import selectors
from accounts.kernel.errors import ApplicationError
from accounts.models import Agreement
from accounts.services import agreements as agreement_services

from .clients import client_action


def _agreement(client) -> Agreement:
    agreement = selectors.client_agreement(client=client)
    if agreement is None:
        raise ApplicationError(
            "This client has no agreement yet; approve it first.", field="status"
        )
    return agreement


client_suspend = client_action(
    "suspend_form",
    "Service suspended; the client sees the reason.",
    lambda r, c, d: agreement_services.client_suspend(
        client=c, acting_user=r.user, cause=d["cause"], reason=d["reason"]
    ),
)
client_resume = client_action(
    "resume_form",
    "Service resumed.",
    lambda r, c, d: agreement_services.client_resume(
        client=c,
        acting_user=r.user,
        reason=d["reason"],
        activation_cost=d.get("activation_cost"),
    ),
)
client_give_notice = client_action(
    "notice_form",
    "Notice given; the end date follows art. 15.2.",
    lambda r, c, d: agreement_services.agreement_give_notice(
        agreement=_agreement(c),
        party=Agreement.Party.PROVIDER,
        acting_user=r.user,
        reason=d["reason"],
    ),
)
client_notice_of_default = client_action(
    "default_form",
    "Notice of default sent; the cure period runs 10 working days (art. 15.4).",
    lambda r, c, d: agreement_services.agreement_notice_of_default(
        agreement=_agreement(c), acting_user=r.user, text=d["text"]
    ),
)
client_terminate = client_action(
    "terminate_form",
    "Agreement terminated.",
    lambda r, c, d: agreement_services.agreement_terminate_for_cause(
        agreement=_agreement(c), acting_user=r.user, reason=d["reason"], immediate=d["immediate"]
    ),
)
