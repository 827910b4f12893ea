from django.core.management.base import BaseCommand
from django_otp.oath import totp

from portal.management.commands.seed_demo import DEMO_TOTP_HEX


class Command(BaseCommand):
    help = "Print the current two-factor code of the demo staff users (demo data only)."

    def handle(self, *args, **options):
        self.stdout.write(f"{totp(bytes.fromhex(DEMO_TOTP_HEX)):06d}")
