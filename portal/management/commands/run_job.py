from django.core.management.base import BaseCommand, CommandError

from portal import jobs


class Command(BaseCommand):
    help = "Run one scheduled job now and print what it did. Without a name, list the jobs."

    def add_arguments(self, parser):
        parser.add_argument("name", nargs="?")

    def handle(self, *args, name=None, **options):
        known = sorted(jobs.registry())
        if not name:
            self.stdout.write("Jobs: " + ", ".join(known))
            return
        try:
            result = jobs.run(name)
        except KeyError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"{name}: {result}")
