from django.apps import AppConfig


class DemoConfig(AppConfig):
    """What `make demo` prepares and the demo datasets; site level, so it may use gan and studies."""

    name = "demo"
    verbose_name = "Demo"
