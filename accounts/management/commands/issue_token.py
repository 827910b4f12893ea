"""`manage.py issue_token USERNAME`: issue an API token and print its key, once."""

from django.core.management.base import BaseCommand, CommandError

from accounts.kernel.errors import ApplicationError
from accounts.models import User
from accounts.tokens import api_token_issue


class Command(BaseCommand):
    help = "Issue an API token for a user (by email). The key is printed once and never stored."

    def add_arguments(self, parser):
        parser.add_argument("username", help="the user's email address")
        parser.add_argument(
            "--name", default="", help="a label for the token, e.g. the script that uses it"
        )
        parser.add_argument(
            "--totp",
            default=None,
            help="staff only: the current code of the user's authenticator app (staff tokens "
            "are issued after this second-factor check and expire)",
        )

    def handle(self, *args, username, name, totp, **options):
        user = User.objects.filter(email=username.strip().lower()).first()
        if user is None:
            raise CommandError(f"No user with the email address {username!r}.")
        if not user.is_active:
            raise CommandError(f"{user.email} is deactivated; a token would not work.")
        try:
            token, raw = api_token_issue(user=user, name=name, otp_code=totp)
        except ApplicationError as exc:
            raise CommandError(str(exc)) from exc
        expiry = (
            f" It expires at {token.expires_at:%Y-%m-%d %H:%M} UTC." if token.expires_at else ""
        )
        self.stderr.write(
            f"Token {token.prefix}… issued for {user.email}. Keep the key secret; it is not shown again."
            + expiry
        )
        self.stdout.write(raw)
