from django.apps import AppConfig


class GanConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "gan"
    verbose_name = "GAN: data, training, generation, scoring"

    def ready(self):
        # Job kinds register themselves on import; the worker and the admin both need the registry.
        from . import job_kinds  # noqa: F401
