"""Pages for people: the guild picker, a guild's dashboard, members, a member, moderation,
invites and access settings. Server-rendered from ``dashboard.selectors`` (the API's readers);
``live.json`` is what the page fetches after a live push, a period or granularity switch, or
while polling."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, overload
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_http_methods

from dashboard import selectors
from dashboard.access import (
    NoAccess,
    PageAccess,
    access_for,
    create_share_link,
    open_share_link,
    revoke_share_link,
)
from dashboard.models import AccessLevel, DiscordMembership, GuildPageSettings, ShareLink
from guilds.api.fields import parse_snowflake
from guilds.models import Guild
from guilds.pages import discord_configured
from guilds.selectors import accessible_guilds
from moderation.models import Action

PAGE_MAX = 1_000_000
COUNT_MAX = 10**9

# a guild's page: written given the caller's access, routed given the guild's id
PageView = Callable[..., HttpResponse]


def guild_page(
    *, members_level: bool = False, managers_only: bool = False
) -> Callable[[PageView], PageView]:
    """Resolve the caller's access to the guild in the URL: an anonymous caller without access
    is sent to sign in (for any id, so nothing tells whether the guild exists), a signed-in
    one gets 404; member-level pages answer 403 unless the caller may see them."""

    def decorate(view: PageView) -> PageView:
        @wraps(view)
        def wrapper(request: HttpRequest, guild_id: str, *args: Any, **kwargs: Any) -> HttpResponse:
            try:
                access = access_for(request.user, request.session, guild_id)
            except NoAccess:
                if not request.user.is_authenticated:
                    return redirect_to_login(request.get_full_path())
                raise Http404 from None
            if (managers_only and not access.is_manager) or (
                members_level and not access.members_pages
            ):
                return render(
                    request,
                    "dashboard/forbidden.html",
                    _context(request, access, "", managers_only=managers_only),
                    status=403,
                )
            return view(request, access, *args, **kwargs)

        return wrapper

    return decorate


def _context(request: HttpRequest, access: PageAccess, tab: str, **extra: Any) -> dict[str, Any]:
    return {"access": access, "guild": access.guild, "tab": tab, **extra}


# --- home: the guild picker, or the ways to sign in ----------------------------------------------
def home(request: HttpRequest) -> HttpResponse:
    guilds: list[Guild] = []
    if request.user.is_authenticated:
        managed = accessible_guilds(request.user)
        visible = GuildPageSettings.objects.filter(
            Q(level="public")
            | Q(
                level="members",
                guild_id__in=DiscordMembership.objects.filter(user=request.user).values("guild_id"),
            )
        ).values("guild_id")
        guilds = list(
            Guild.objects.filter(Q(pk__in=managed.values("pk")) | Q(pk__in=visible)).order_by(
                "name", "guild_id"
            )
        )
    return render(
        request, "dashboard/home.html", {"guilds": guilds, "discord": discord_configured()}
    )


# --- a guild's dashboard ----------------------------------------------------------------------
@guild_page()
def dashboard(request: HttpRequest, access: PageAccess) -> HttpResponse:
    period = selectors.period_or_default(request.GET.get("period"))
    granularity = selectors.granularity_or_default(period, request.GET.get("granularity"))
    context = _context(
        request,
        access,
        "dashboard",
        period=period,
        granularity=granularity,
        periods=selectors.PERIOD_LABELS,
        granularities={
            k: v
            for k, v in selectors.GRANULARITY_LABELS.items()
            if not (period == "all" and k == "hour")
        },
        live_url=reverse("dashboard-live", args=[access.guild.guild_id]),
        socket_path=f"/ws/guilds/{access.guild.guild_id}/live/",
        poll_only=not selectors.shared_across_processes(),
    )

    def body() -> str:
        now = timezone.now()
        data = selectors.dashboard_page(access.guild, period, granularity, now)
        return render_to_string(
            "dashboard/_dashboard_body.html",
            {
                **context,
                "data": data,
                "chart": {"activity": data["activity"], "now": now.isoformat()},
            },
        )

    # The rendered figures are cached like the data they show (the guild's page generation,
    # API_CACHE_SECONDS): a cached page is one cache read, no figure fetched or rendered again.
    # the body is our own template's output (autoescaped when rendered), cached as a string
    context["body"] = mark_safe(  # noqa: S308
        selectors.cached(access.guild, "page", body, period, granularity, access.members_pages)
    )
    return render(request, "dashboard/dashboard.html", context)


@guild_page()
def live(request: HttpRequest, access: PageAccess) -> JsonResponse:
    period = selectors.period_or_default(request.GET.get("period"))
    granularity = selectors.granularity_or_default(period, request.GET.get("granularity"))
    now = timezone.now()
    body = selectors.live(access.guild, period, granularity, now)
    return JsonResponse(
        {"cards": body["cards"], "activity": body["activity"], "now": now.isoformat()},
        headers={"Cache-Control": "no-store"},
    )


# --- members ------------------------------------------------------------------------------------
@overload
def _int(value: str | None, *, low: int, high: int, default: int) -> int: ...
@overload
def _int(value: str | None, *, low: int, high: int, default: None) -> int | None: ...
def _int(value: str | None, *, low: int, high: int, default: int | None) -> int | None:
    if value is None or value == "":
        return default
    number = parse_snowflake(value) if value != "0" else 0
    if number is None or not low <= number <= high:
        return default
    return number


def members_query(params: Any) -> dict[str, Any]:
    sort_by = params.get("sortBy")
    return {
        "page": _int(params.get("page"), low=1, high=PAGE_MAX, default=1),
        "pageSize": 25,
        "sortBy": sort_by if sort_by in selectors.MEMBER_SORTS else "messages",
        "sortOrder": "asc" if params.get("sortOrder") == "asc" else "desc",
        "minMessages": _int(params.get("minMessages"), low=0, high=COUNT_MAX, default=None),
        "minVoiceMinutes": _int(params.get("minVoiceMinutes"), low=0, high=COUNT_MAX, default=None),
        "activeOnly": params.get("activeOnly") in ("1", "true", "on"),
        "search": (params.get("search") or "").strip()[:100] or None,
    }


def _query_string(query: dict[str, Any], **changes: Any) -> str:
    merged = {**query, **changes}
    return urlencode(
        {k: ("true" if v is True else v) for k, v in merged.items() if v not in (None, False)}
    )


@guild_page(members_level=True)
def members(request: HttpRequest, access: PageAccess) -> HttpResponse:
    query = members_query(request.GET)
    page = selectors.member_list(access.guild, query, timezone.now())
    base = {k: v for k, v in query.items() if k != "pageSize"}
    sort_links = {
        key: "?"
        + _query_string(
            base,
            page=1,
            sortBy=key,
            sortOrder="asc" if query["sortBy"] == key and query["sortOrder"] == "desc" else "desc",
        )
        for key in selectors.MEMBER_SORTS
    }
    pagination = page["pagination"]
    api_query = {k: v for k, v in base.items() if k != "page"}
    return render(
        request,
        "dashboard/members.html",
        _context(
            request,
            access,
            "members",
            page=page,
            query=query,
            sort_links=sort_links,
            previous_link="?" + _query_string(base, page=query["page"] - 1)
            if query["page"] > 1
            else None,
            next_link="?" + _query_string(base, page=query["page"] + 1)
            if query["page"] < pagination["totalPages"]
            else None,
            csv_link=f"/api/guilds/{access.guild.guild_id}/stats/members?"
            + _query_string(api_query, format="csv"),
        ),
    )


@guild_page(members_level=True)
def member(request: HttpRequest, access: PageAccess, user_id: str) -> HttpResponse:
    wanted = parse_snowflake(user_id)
    detail = (
        selectors.member_detail(access.guild, wanted, timezone.now())
        if wanted is not None
        else None
    )
    if detail is None:
        raise Http404
    return render(request, "dashboard/member.html", _context(request, access, "members", m=detail))


# --- moderation ---------------------------------------------------------------------------------
@guild_page(members_level=True)
def moderation(request: HttpRequest, access: PageAccess) -> HttpResponse:
    params = request.GET
    action = params.get("action") if params.get("action") in Action.values else None
    user = parse_snowflake(params.get("user", "").strip())
    moderator_text = params.get("moderator", "").strip()
    moderator = parse_snowflake(moderator_text)
    filters = {
        "action": action,
        "target_user_id": user,
        "moderator_id": moderator,
        "system_only": moderator_text == "system",
    }
    page_number = _int(params.get("page"), low=1, high=PAGE_MAX, default=1)
    page = selectors.cases(access.guild, filters, page_number)
    base = {
        "action": action,
        "user": user,
        "moderator": "system" if moderator_text == "system" else moderator,
    }
    total_pages = page["pagination"]["totalPages"]
    return render(
        request,
        "dashboard/moderation.html",
        _context(
            request,
            access,
            "moderation",
            recent=selectors.recent(access.guild),
            page=page,
            actions=Action.choices,
            filters=base,
            previous_link="?" + _query_string(base, page=page_number - 1)
            if page_number > 1
            else None,
            next_link="?" + _query_string(base, page=page_number + 1)
            if page_number < total_pages
            else None,
        ),
    )


# --- invites ------------------------------------------------------------------------------------
@guild_page()
def invites(request: HttpRequest, access: PageAccess) -> HttpResponse:
    data = selectors.invites_page(access.guild, timezone.now())
    return render(
        request,
        "dashboard/invites.html",
        _context(request, access, "invites", data=data, growth={"days": data["days"]}),
    )


# --- access settings and share links ------------------------------------------------------------
@require_http_methods(["GET", "POST"])
@guild_page(managers_only=True)
def guild_settings(request: HttpRequest, access: PageAccess) -> HttpResponse:
    guild_id = access.guild.guild_id
    if request.method == "POST":
        what = request.POST.get("do")
        row, _ = GuildPageSettings.objects.get_or_create(guild_id=guild_id)
        if what == "level" and request.POST.get("level") in AccessLevel.values:
            row.level = request.POST["level"]
            if access.is_owner:
                row.members_pages_opt_in = request.POST.get("members_pages_opt_in") == "on"
            row.save()
            messages.success(request, "Access settings saved.")
        elif what == "create_link":
            # shown on this answer only (not through a message, which may sit in a cookie)
            _link, secret = create_share_link(guild_id, request.POST.get("name", ""), request.user)
            url = request.build_absolute_uri(reverse("dashboard-share", args=[secret]))
            return _settings_page(request, access, new_link=url)
        elif what == "revoke_link":
            link = ShareLink.objects.filter(
                guild_id=guild_id, pk=_int(request.POST.get("link"), low=1, high=2**62, default=0)
            ).first()
            if link is not None:
                revoke_share_link(link)
                messages.success(request, f"Link {link.prefix}… revoked.")
        return redirect("dashboard-settings", guild_id=guild_id)
    return _settings_page(request, access)


def _settings_page(request: HttpRequest, access: PageAccess, **extra: Any) -> HttpResponse:
    return render(
        request,
        "dashboard/settings.html",
        _context(
            request,
            access,
            "settings",
            levels=AccessLevel.choices,
            links=ShareLink.objects.filter(guild_id=access.guild.guild_id),
            **extra,
        ),
    )


def share(request: HttpRequest, secret: str) -> HttpResponse:
    link = open_share_link(request.session, secret)
    if link is None:
        raise Http404
    return redirect("dashboard", guild_id=link.guild_id)
