from django.apps import AppConfig


class CommentersConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "civility.web.commenters"
    label = "commenters"

    def ready(self):
        from civility.web import events as lifecycle

        from . import notifications

        # Outcome and reply mails hear the lifecycle's decisions; the lifecycle never calls them.
        lifecycle.subscribe(
            "commenter-notifications", notifications.handle, wants=notifications.wants
        )

    def sweep(self) -> int:
        """The workers' sweeper (workers.sweep_apps): mails whose message was lost, sent again."""
        from .notifications import sweep

        return sweep()
