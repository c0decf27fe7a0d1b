from django.apps import AppConfig


class JobsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "jobs"
    verbose_name = "Jobs"

    def ready(self):
        # The built-in kind registers itself on import, like every app's kinds module.
        from . import selfcheck  # noqa: F401
