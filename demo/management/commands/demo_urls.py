"""Print where to go once the demo is up: the admin pages and the demo studies' rater links."""
from django.core.management.base import BaseCommand

from demo.prepare import demo_links


class Command(BaseCommand):
    help = "Print the demo's URLs."

    def add_arguments(self, parser):
        parser.add_argument("--base", default="http://127.0.0.1:8000")

    def handle(self, *args, base, **options):
        self.stdout.write("")
        self.stdout.write("The platform is up:")
        for label, path in demo_links():
            self.stdout.write(f"  {label:<40} {base.rstrip('/')}{path}")
        self.stdout.write("")
