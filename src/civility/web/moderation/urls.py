from django.urls import path

from . import appeals, commenters, views

app_name = "moderation"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("comments/<int:comment_id>/decide/", views.decide, name="decide"),
    path("comments/<int:comment_id>/change/", views.change, name="change"),
    path("comments/<int:comment_id>/claim/", views.claim, name="claim"),
    path("claim/release/", views.release, name="release"),
    path("bulk/", views.bulk_decide, name="bulk"),
    path("cards/", views.cards, name="cards"),
    path("live/", views.live_updates, name="live"),
    path(
        "commenters/<int:commenter_id>/",
        views.moderator_required(commenters.commenter_page),
        name="commenter",
    ),
    path(
        "commenters/<int:commenter_id>/sanction/",
        views.moderator_required(commenters.sanction),
        name="sanction",
    ),
    path("appeals/", views.moderator_required(appeals.appeals_page), name="appeals"),
    path(
        "appeals/<int:appeal_id>/decide/",
        views.moderator_required(appeals.decide),
        name="appeal-decide",
    ),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("preferences/", views.preferences, name="preferences"),
]
