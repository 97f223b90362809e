from django.apps import AppConfig


class LearningConfig(AppConfig):
    name = "civility.web.learning"
    label = "learning"
    verbose_name = "Learning from decisions"

    def ready(self):
        from civility.web import events

        from .shadow import record_shadows

        # A shadow version's assessments are kept beside the active ones as they are stored
        # (in the same transaction); the comments' lifecycle never calls this app.
        events.subscribe(
            "learning.shadow",
            lambda event, pairs: record_shadows(pairs),
            wants=lambda event: event == events.ASSESSED,
        )
