from django.urls import path

from . import views

app_name = "commenters"

urlpatterns = [
    path("commenters/verify/", views.verify, name="verify"),
    path("commenters/sso/", views.sso_sign_in, name="sso"),
    path("commenters/unsubscribe/", views.unsubscribe, name="unsubscribe"),
]
