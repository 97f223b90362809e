from django.contrib import admin
from django.urls import include, path

from civility.web.login import ThrottledAuthenticationForm, ThrottledLoginView

# The admin's sign-in is throttled like the moderators' (per account and per IP).
admin.site.login_form = ThrottledAuthenticationForm

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/login/", ThrottledLoginView.as_view(), name="login"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/v1/", include("civility.web.api.urls")),
    path("", include("civility.web.perspective.urls")),
    path("moderation/", include("civility.web.moderation.urls")),
    path("", include("civility.web.commenters.urls")),
    path("", include("civility.web.comments.urls")),
    path("", include("civility.web.comments.article_urls")),
]

# JSON doors get their JSON error shape for these too (civility.web.errors).
handler400 = "civility.web.errors.bad_request"
handler403 = "civility.web.errors.permission_denied"
handler404 = "civility.web.errors.page_not_found"
handler500 = "civility.web.errors.server_error"
