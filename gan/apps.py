from django.apps import AppConfig


class GanConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "gan"
    verbose_name = "GAN: data, training, generation, scoring"

    def ready(self):
        # Registers the gan job kinds: the worker and the admin both need the registry. Only the
        # kinds' params are imported now; their bodies (and PyTorch) load when a job first runs.
        from . import kinds  # noqa: F401
