from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "civility.web.webhooks"
    label = "webhooks"
    verbose_name = "Webhooks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.db.models.signals import post_delete, post_save

        from civility.web import events as lifecycle

        from . import events
        from .models import Webhook

        # Webhooks hear the comment lifecycle's events; the lifecycle never calls them.
        lifecycle.subscribe("webhooks", events.handle, wants=events.wants)
        for signal in (post_save, post_delete):
            signal.connect(events.forget_changed, sender=Webhook, weak=False)

    def sweep(self) -> int:
        """The workers' sweeper (workers.sweep_apps): overdue deliveries sent again."""
        from .delivery import sweep

        return sweep()
