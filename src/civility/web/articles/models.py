"""Articles that readers comment on. A newsroom's CMS stays the source of truth; we keep
just enough of each article to show it, embed its comments and judge relevance."""

from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from civility.web.text import validate_visible


class Article(models.Model):
    slug = models.SlugField(_("slug"), max_length=200, unique=True)
    title = models.CharField(_("title"), max_length=300, validators=[validate_visible])
    body = models.TextField(_("body"), blank=True)
    language = models.CharField(_("language"), max_length=8, default="en")
    url = models.URLField(_("URL on the newsroom's site"), max_length=500, blank=True)
    comments_open = models.BooleanField(_("comments open"), default=True)
    created = models.DateTimeField(_("created"), auto_now_add=True)
    # Bumped whenever a decision changes which comments are public; part of every cache key
    # for the article's comments, so all server processes see a change without a shared cache.
    comments_version = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("articles:detail", args=[self.slug])

    def engine_article(self) -> dict:
        """The article as the engine's relevance scorer wants it."""
        return {"title": self.title, "body": self.body}
