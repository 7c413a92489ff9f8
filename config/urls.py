from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import include, path, re_path
from django.views.defaults import page_not_found
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from dashboard import views as dashboard_views
from directory.api.views import DirectoryViewSet
from guilds import pages as guild_pages
from guilds.api.views import GuildViewSet, WhoAmIView
from invites.api.views import InvitesViewSet
from moderation.api.views import ModerationViewSet
from ops import views as ops_views
from pipeline import views as pipeline_views
from stats.api.views import GuildStatsViewSet


class OptionalSlashRouter(DefaultRouter):
    """interfaces.md writes /api/guilds/ with a slash and the stats paths without one."""

    include_root_view = False

    def __init__(self) -> None:
        super().__init__()
        self.trailing_slash = "/?"


router = OptionalSlashRouter()
router.register(r"guilds", GuildViewSet, basename="guild")
router.register(r"guilds/(?P<guild_id>[^/.]+)/stats", GuildStatsViewSet, basename="guild-stats")
router.register(
    r"guilds/(?P<guild_id>[^/.]+)/moderation", ModerationViewSet, basename="guild-moderation"
)
router.register(r"guilds/(?P<guild_id>[^/.]+)/invites", InvitesViewSet, basename="guild-invites")
router.register(r"guilds/(?P<guild_id>[^/.]+)", DirectoryViewSet, basename="guild-directory")

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", dashboard_views.home, name="home"),
    path("accounts/discord/login/", guild_pages.discord_login, name="discord_login"),
    # Django's own login for self-hosters without a Discord application (before allauth's)
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(
            template_name="dashboard/login.html",
            redirect_authenticated_user=True,
            extra_context={"discord": guild_pages.discord_configured},
        ),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/", include("allauth.urls")),
    path("api/ingest/events", pipeline_views.ingest_events, name="ingest-events"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    re_path(r"^api/whoami/?$", WhoAmIView.as_view(), name="whoami"),
    path("api/", include(router.urls)),
    path("", include("dashboard.urls")),
    path("health", ops_views.health, name="health"),
    path("metrics", ops_views.prometheus_metrics, name="metrics"),
]


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """A path that matches no route: JSON under /api/ (an id with "." or an encoded "/" never
    reaches the API's views), Django's page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return page_not_found(request, exception)


handler404 = not_found
handler500 = "core.middleware.unavailable_or_server_error"
