from django.apps import AppConfig


class SiteConfig(AppConfig):
    """Site-level operations in one place: `serve`, `demo`, `worker`, `reassess`, `webhook` and
    `moderator` (management commands), and the services they share (`services.py`)."""

    name = "civility.web.site"
    label = "site"
    verbose_name = "Site"
