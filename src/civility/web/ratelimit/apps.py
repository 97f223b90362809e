from django.apps import AppConfig


class RatelimitConfig(AppConfig):
    name = "civility.web.ratelimit"
    label = "ratelimit"
    default_auto_field = "django.db.models.BigAutoField"
