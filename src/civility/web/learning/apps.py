from django.apps import AppConfig


class LearningConfig(AppConfig):
    name = "civility.web.learning"
    label = "learning"
    verbose_name = "Learning from decisions"
