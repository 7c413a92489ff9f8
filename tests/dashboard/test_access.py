"""Who sees what, as a matrix: callers x access levels x pages (Django test client), the
owner's opt-in for member-level pages, share links and their revocation, and the settings page."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from dashboard.models import GuildPageSettings, ShareLink
from guilds.models import Guild
from tests.dashboard.conftest import GUILD, OTHER, client_for

pytestmark = pytest.mark.django_db

GUILD_PAGES = ("", "live.json", "invites/")
MEMBER_PAGES = ("members/", "members/1001/", "moderation/")
CALLERS = ("anonymous", "stranger", "member", "moderator", "owner", "admin", "link", "revoked")
MANAGERS = {"moderator", "owner", "admin"}


@pytest.fixture
def guild(db: None) -> Guild:
    from stats.models import MemberStats

    guild = Guild.objects.create(guild_id=int(GUILD), name="Test Guild", owner_id=1999)
    Guild.objects.create(guild_id=int(OTHER), name="Other")
    MemberStats.objects.create(guild_id=guild.guild_id, user_id=1001, total_messages=3)
    return guild


def caller(name: str, people: dict) -> Client:
    if name in ("link", "revoked"):
        from dashboard.access import create_share_link, revoke_share_link

        link, secret = create_share_link(int(GUILD), "test")
        client = Client()
        assert client.get(f"/share/{secret}/")["Location"] == f"/guilds/{GUILD}/"
        if name == "revoked":
            revoke_share_link(link)
        return client
    return client_for(None if name == "anonymous" else people[name])


def sees_guild(name: str, level: str) -> bool:
    return (
        name in MANAGERS
        or level == "public"
        or (level == "members" and name == "member")
        or name == "link"
    )


@pytest.mark.parametrize("opt_in", [False, True], ids=["managers-only", "opted-in"])
@pytest.mark.parametrize("level", ["private", "members", "public"])
@pytest.mark.parametrize("name", CALLERS)
def test_access_matrix(guild, people, name, level, opt_in):
    GuildPageSettings.objects.create(
        guild_id=guild.guild_id, level=level, members_pages_opt_in=opt_in
    )
    client = caller(name, people)
    visible = sees_guild(name, level)
    for page in (*GUILD_PAGES, *MEMBER_PAGES, "settings/"):
        status = client.get(f"/guilds/{GUILD}/{page}").status_code
        if not visible:
            expected = 302 if name in ("anonymous", "link", "revoked") else 404
        elif page == "settings/":
            expected = 200 if name in MANAGERS else 403
        elif page in MEMBER_PAGES:
            expected = 200 if name in MANAGERS or opt_in else 403
        else:
            expected = 200
        assert status == expected, (name, level, opt_in, page, status)
    # another guild stays hidden whatever this one's level
    assert client.get(f"/guilds/{OTHER}/").status_code in (302, 404) or name == "admin"


def test_anonymous_callers_are_sent_to_sign_in_for_any_id(db):
    for guild_id in (GUILD, "123", "not-an-id"):
        response = Client().get(f"/guilds/{guild_id}/")
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/?next=")


def test_the_home_page_lists_the_guilds_a_caller_may_see(guild, people):
    Guild.objects.create(guild_id=3, name="Public Guild")
    GuildPageSettings.objects.create(guild_id=3, level="public")
    GuildPageSettings.objects.create(guild_id=int(OTHER), level="members")
    expected = {
        "stranger": {"Public Guild"},
        "member": {"Public Guild"},  # a member of GUILD (private), not of OTHER
        "moderator": {"Test Guild", "Public Guild"},
        "admin": {"Test Guild", "Public Guild", "Other"},
    }
    for name, names in expected.items():
        html = client_for(people[name]).get("/").content.decode()
        listed = set(re.findall(r'<li><a href="/guilds/\d+/">([^<]+)</a>', html))
        assert listed == names, name
    GuildPageSettings.objects.filter(guild_id=guild.guild_id).delete()
    GuildPageSettings.objects.create(guild_id=guild.guild_id, level="members")
    html = client_for(people["member"]).get("/").content.decode()
    assert f'href="/guilds/{GUILD}/"' in html


def test_the_settings_page(guild, people):
    moderator, owner = client_for(people["moderator"]), client_for(people["owner"])
    # a manager sets the level; only the owner may opt in to member-level pages
    moderator.post(
        f"/guilds/{GUILD}/settings/",
        {"do": "level", "level": "public", "members_pages_opt_in": "on"},
    )
    row = GuildPageSettings.objects.get(guild_id=guild.guild_id)
    assert (row.level, row.members_pages_opt_in) == ("public", False)
    assert "disabled" in moderator.get(f"/guilds/{GUILD}/settings/").content.decode()
    owner.post(
        f"/guilds/{GUILD}/settings/",
        {"do": "level", "level": "public", "members_pages_opt_in": "on"},
    )
    row.refresh_from_db()
    assert row.members_pages_opt_in
    assert Client().get(f"/guilds/{GUILD}/members/").status_code == 200  # read afresh at once
    # a share link is shown once, works, and stops working when revoked
    page = moderator.post(f"/guilds/{GUILD}/settings/", {"do": "create_link", "name": "press"})
    url = re.search(r'<code data-testid="new-link">([^<]+)</code>', page.content.decode()).group(1)
    link = ShareLink.objects.get(guild_id=guild.guild_id)
    assert link.prefix in url and link.secret_hash not in url
    assert "new-link" not in moderator.get(f"/guilds/{GUILD}/settings/").content.decode()
    owner.post(f"/guilds/{GUILD}/settings/", {"do": "level", "level": "private"})
    visitor = Client()
    assert visitor.get(url.split("testserver")[1]).status_code == 302
    assert visitor.get(f"/guilds/{GUILD}/").status_code == 200
    moderator.post(f"/guilds/{GUILD}/settings/", {"do": "revoke_link", "link": link.pk})
    assert visitor.get(f"/guilds/{GUILD}/").status_code == 302
    assert visitor.get(url.split("testserver")[1]).status_code == 404
    # a stranger cannot change anything
    stranger = client_for(people["stranger"])
    assert (
        stranger.post(f"/guilds/{GUILD}/settings/", {"do": "level", "level": "public"}).status_code
        == 404
    )
    assert GuildPageSettings.objects.get(guild_id=guild.guild_id).level == "private"


def test_a_discord_login_records_the_users_guilds(db):
    from django.contrib.auth.models import User

    from dashboard.access import member_guild_ids, replace_memberships
    from dashboard.models import DiscordMembership

    user = User.objects.create_user("d")
    ids = member_guild_ids([{"id": GUILD, "permissions": "0"}, {"id": "x"}, {"id": OTHER}, "junk"])
    assert ids == {int(GUILD), int(OTHER)}
    replace_memberships(user, ids)
    replace_memberships(user, {int(GUILD)})
    assert set(DiscordMembership.objects.filter(user=user).values_list("guild_id", flat=True)) == {
        int(GUILD)
    }


def test_sign_in_with_djangos_own_login(guild, people, settings):
    settings.SOCIALACCOUNT_PROVIDERS = {
        "discord": {"APPS": [{"client_id": "", "secret": ""}], "SCOPE": ["identify", "guilds"]}
    }
    page = Client().get("/")
    text = page.content.decode()
    assert (
        "Login with Discord is not configured" in text and 'href="/accounts/login/?next=/"' in text
    )
    client = Client()
    form = client.get(f"/accounts/login/?next=/guilds/{GUILD}/")
    assert form.status_code == 200 and 'name="password"' in form.content.decode()
    wrong = client.post("/accounts/login/", {"username": "mod", "password": "no"})
    assert "Wrong user name or password" in wrong.content.decode()
    signed_in = client.post(
        "/accounts/login/", {"username": "mod", "password": "pw", "next": f"/guilds/{GUILD}/"}
    )
    assert signed_in["Location"] == f"/guilds/{GUILD}/"
    assert client.get(f"/guilds/{GUILD}/").status_code == 200
    assert client.get("/accounts/login/")["Location"] == "/"  # already signed in
    settings.SOCIALACCOUNT_PROVIDERS = {
        "discord": {"APPS": [{"client_id": "1", "secret": "s"}], "SCOPE": ["identify", "guilds"]}
    }
    assert 'href="/accounts/discord/login/' in Client().get("/accounts/login/").content.decode()
    assert client.post("/accounts/logout/")["Location"] == "/"
