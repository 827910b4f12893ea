"""What the data-processing pages share.

Views are thin: forms check the shape, `dataprocessing.services` make every change and refuse
with an ApplicationError shown on the field it names, `dataprocessing.selectors` read. Another
client's id answers 404 (the selectors' NotFound), never 403.
"""

from accounts.forms import call_service
from accounts.kernel.pages import staff_or_client_required

# Pages for provider staff and a client's users alike, and one service call with its
# refusal on the form: shared with the accounts and billing pages.
__all__ = ["call_service", "history", "staff_or_client_required"]


def history(obj, limit: int = 30):
    """Who changed what, when (simple-history), newest first."""
    return obj.history.select_related("history_user").order_by("-history_date", "-history_id")[
        :limit
    ]
