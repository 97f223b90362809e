"""Site-level services shared by the commands and the demo."""

from __future__ import annotations

import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from civility.web.api.models import ApiToken
from civility.web.comments.services import moderators_group


def create_moderator(
    name: str, email: str = "", password: str | None = None, staff=False, privacy=False
):
    """A moderator account (created, or completed if it exists) with a new API token:
    (user, password or None if the account existed, raw API token). `staff`: the token may
    also create and update articles (a CMS integration). `privacy`: it may also export and
    erase commenters' personal data (permission commenters.handle_personal_data)."""
    User = get_user_model()
    user, created = User.objects.get_or_create(username=name, defaults={"email": email})
    if staff and not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    new_password = None
    if created:
        new_password = password or secrets.token_urlsafe(12)
        user.set_password(new_password)
        user.save()
    elif email and user.email != email:
        user.email = email
        user.save(update_fields=["email"])
    user.groups.add(moderators_group())
    if privacy:
        user.user_permissions.add(
            Permission.objects.get(
                codename="handle_personal_data", content_type__app_label="commenters"
            )
        )
    _, token = ApiToken.objects.issue(user, name="cli")
    return user, new_password, token
