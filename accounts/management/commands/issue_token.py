"""`manage.py issue_token USERNAME`: issue an API token and print its key, once."""

from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from accounts.tokens import api_token_issue


class Command(BaseCommand):
    help = "Issue an API token for a user (by email). The key is printed once and never stored."

    def add_arguments(self, parser):
        parser.add_argument("username", help="the user's email address")
        parser.add_argument(
            "--name", default="", help="a label for the token, e.g. the script that uses it"
        )

    def handle(self, *args, username, name, **options):
        user = User.objects.filter(email=username.strip().lower()).first()
        if user is None:
            raise CommandError(f"No user with the email address {username!r}.")
        if not user.is_active:
            raise CommandError(f"{user.email} is deactivated; a token would not work.")
        token, raw = api_token_issue(user=user, name=name)
        self.stderr.write(
            f"Token {token.prefix}… issued for {user.email}. Keep the key secret; it is not shown again."
        )
        self.stdout.write(raw)
