from django.urls import path

from dashboard import views

urlpatterns = [
    path("guilds/<str:guild_id>/", views.dashboard, name="dashboard"),
    path("guilds/<str:guild_id>/live.json", views.live, name="dashboard-live"),
    path("guilds/<str:guild_id>/members/", views.members, name="dashboard-members"),
    path("guilds/<str:guild_id>/members/<str:user_id>/", views.member, name="dashboard-member"),
    path("guilds/<str:guild_id>/moderation/", views.moderation, name="dashboard-moderation"),
    path("guilds/<str:guild_id>/invites/", views.invites, name="dashboard-invites"),
    path("guilds/<str:guild_id>/settings/", views.guild_settings, name="dashboard-settings"),
    path("share/<str:secret>/", views.share, name="dashboard-share"),
]
