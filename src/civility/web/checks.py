"""`civility check --deploy`: Django's deployment checks plus the site's own."""

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def demo_secret_key(app_configs, **kwargs):
    """The demo SECRET_KEY is public: with it sessions can be forged and IP hashes reversed."""
    if settings.SECRET_KEY == getattr(settings, "DEMO_SECRET_KEY", None):
        return [
            Error(
                "SECRET_KEY is the public demo key.",
                hint="Set the SECRET_KEY environment variable to a long random value.",
                id="civility.E001",
            )
        ]
    return []


@register(Tags.security, deploy=True)
def production_mode(app_configs, **kwargs):
    if not getattr(settings, "PRODUCTION", False):
        return [
            Error(
                "Production mode is off (DEBUG=1 or CIVILITY_PRODUCTION=0).",
                hint="Unset both for a deployment: HSTS, the HTTPS redirect and secure cookies "
                "come with production mode.",
                id="civility.E002",
            )
        ]
    return []
