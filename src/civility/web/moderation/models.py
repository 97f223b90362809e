"""A moderator's own settings: for now the language of the moderator pages."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ModeratorProfile(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="moderator_profile"
    )
    # A code from settings.LANGUAGES; empty: follow the browser (Accept-Language).
    language = models.CharField(_("language of the moderator pages"), max_length=16, blank=True)

    class Meta:
        verbose_name = _("moderator profile")
        verbose_name_plural = _("moderator profiles")

    def __str__(self) -> str:
        return str(self.user)


class Claim(models.Model):
    """A soft claim: this moderator is reading that comment, shown to the other moderators
    ("Layla is reading this") until it expires. Nothing stops anyone from deciding; a moderator
    holds one claim at a time, renewed while they stay on the card (see moderation.live)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="moderation_claim"
    )
    comment = models.ForeignKey("comments.Comment", on_delete=models.CASCADE, related_name="+")
    expires = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.user} reading comment {self.comment_id} until {self.expires}"
