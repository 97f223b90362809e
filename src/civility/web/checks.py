"""`civility check --deploy`: Django's deployment checks plus the site's own."""

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

# frame-ancestors sources that let any site frame the embed: the wildcard, and bare schemes.
ANY_SITE = {"*", "http:", "https:", "http://*", "https://*"}


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


@register(Tags.security, deploy=True)
def embed_ancestors(app_configs, **kwargs):
    """In production the embed should be framed by the newsroom's own pages only: with `*`, any
    site can show the comment form in a frame of its own (clickjacking, comments posted under
    someone else's article page)."""
    if not getattr(settings, "PRODUCTION", False):
        return []
    sources = settings.CIVILITY_EMBED_ANCESTORS.split()
    open_to_all = sorted(ANY_SITE.intersection(sources))
    if open_to_all:
        return [
            Warning(
                f"CIVILITY_EMBED_ANCESTORS lets any site frame the comments "
                f"({' '.join(open_to_all)}).",
                hint="Set it to the origins of your article pages, e.g. "
                "CIVILITY_EMBED_ANCESTORS='https://news.example.org https://www.news.example.org' "
                "(docs/embed.md).",
                id="civility.W001",
            )
        ]
    return []
