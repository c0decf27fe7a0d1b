"""Create the admin account of a demo or a fresh install (idempotent) and print how to log in."""
import os
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = ("Create a superuser from ADMIN_USERNAME / ADMIN_PASSWORD (default user 'admin' with a "
            "generated password kept in var/admin_password), and print the credentials.")

    def handle(self, *args, **options):
        username = os.environ.get("ADMIN_USERNAME", "admin")
        password = os.environ.get("ADMIN_PASSWORD")
        stored = settings.VAR_DIR / "admin_password"
        if not password:
            if not stored.exists():
                stored.write_text(secrets.token_urlsafe(12))
                stored.chmod(0o600)
            password = stored.read_text().strip()
        user_model = get_user_model()
        user, created = user_model.objects.get_or_create(
            username=username, defaults={"is_staff": True, "is_superuser": True})
        if created or os.environ.get("ADMIN_PASSWORD"):
            user.is_staff = user.is_superuser = True
            user.set_password(password)
            user.save()
        verb = "Created" if created else "Admin account exists"
        self.stdout.write(f"{verb}: user {username!r}, password {password!r}")
