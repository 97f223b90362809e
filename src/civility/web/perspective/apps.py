from django.apps import AppConfig


class PerspectiveConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "civility.web.perspective"
    label = "perspective"
