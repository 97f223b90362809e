from django.apps import AppConfig


class CommentsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "civility.web.comments"
    label = "comments"

    def ready(self):
        from django.db.models.signals import post_save

        from civility.web import checks  # noqa: F401 - registers `check --deploy`'s own checks
        from civility.web.articles.models import Article

        from .cache import forget_article

        # An edited article (title, comments open/closed) must not be served from the memo.
        post_save.connect(
            lambda sender, instance, **kw: forget_article(instance.pk), sender=Article, weak=False
        )

    def sweep(self) -> int:
        """The workers' sweeper (workers.sweep_apps): stale waiting comments queued again."""
        from .assessing import sweep

        return sweep()
