"""Bring the demo to life: data, a trained model, generated images, open studies (idempotent)."""
from django.core.management.base import BaseCommand

from demo.prepare import prepare_demo


class Command(BaseCommand):
    help = "Build the demo data, train the demo model, generate images and open the studies."

    def add_arguments(self, parser):
        parser.add_argument("--quick", action="store_true", help="smallest settings (for tests)")

    def handle(self, *args, quick, **options):
        prepare_demo(quick=quick, out=self.stdout)
