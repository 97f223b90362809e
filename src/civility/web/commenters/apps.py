from django.apps import AppConfig


class CommentersConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "civility.web.commenters"
    label = "commenters"
