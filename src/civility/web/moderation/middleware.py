"""The moderator pages speak the language a moderator chose in their preferences."""

from __future__ import annotations

from django.conf import settings
from django.utils import translation

from civility.web.i18n import supported


class ModeratorLanguageMiddleware:
    """For a signed-in user with a language in their ModeratorProfile, that language for the
    whole request (Django's LocaleMiddleware chose from the cookie or Accept-Language before
    the user was known). Reader pages still follow their article (civility.web.i18n)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # Without a session cookie nobody is signed in: do not touch the session (reading it
        # would add "Vary: Cookie" to every anonymous answer).
        if settings.SESSION_COOKIE_NAME not in request.COOKIES:
            return self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            from .models import ModeratorProfile

            chosen = supported(
                ModeratorProfile.objects.filter(user_id=user.pk)
                .values_list("language", flat=True)
                .first()
            )
            if chosen:
                translation.activate(chosen)
                request.LANGUAGE_CODE = chosen
        return self.get_response(request)
