"""Domain errors of billing; services raise these, never HTTP errors."""

from accounts.kernel.errors import ApplicationError, Conflict, NotAllowed, ValidationFailed

__all__ = ["ApplicationError", "Conflict", "InsufficientCredit", "NotAllowed", "ValidationFailed"]


class InsufficientCredit(ApplicationError):
    """A debit larger than the usable prepaid balance is refused whole (art. 29.2)."""

    code = "insufficient_credit"

    def __init__(self, message: str | None = None, *, usable=None, amount=None, currency: str = ""):
        self.usable = usable
        self.amount = amount
        super().__init__(
            message
            or (
                f"The usable prepaid balance ({currency} {usable}) does not cover {currency} {amount}; "
                "services can only be used when enough credit has been paid in (art. 29.2)."
            ),
            field="amount",
            article="29.2",
        )
