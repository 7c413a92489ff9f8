"""The moderators' admin: a staff user assigned to guilds sees only those guilds (cases,
members, invites, inviter counts, guilds, member stats), may edit an inviter's bonus in them
and nothing else; a superuser sees every guild; staff without guilds see nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client

from guilds.models import GuildAccess
from invites.models import InviterStats, MemberLifecycle
from moderation.models import ModerationCase
from stats.models import MemberStats
from tests.factories import (
    audit_entry,
    ban,
    invite_create,
    member_add,
    message,
    ms,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("wide_retention")]

ORIGIN = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
MINE, THEIRS = "730000000000000001", "730000000000000002"
TARGET, MOD, INVITER, CHANNEL = "4001", "4002", "4003", "4004"


def at(**delta: float) -> int:
    return ms(ORIGIN + timedelta(**delta))


@pytest.fixture
def data(ingest):
    for g in (MINE, THEIRS):
        _status, ack = ingest(
            [
                invite_create(g, f"code{g[-1]}", INVITER, at()),
                member_add(g, TARGET, at(minutes=1), inviter=INVITER, code=f"code{g[-1]}"),
                message(g, TARGET, CHANNEL, at(minutes=2)),
                ban(g, TARGET, at(minutes=3), reason=f"reason in {g}"),
                audit_entry(
                    g, "MEMBER_BAN_ADD", at(minutes=3, seconds=2), target=TARGET, executor=MOD
                ),
            ]
        )
        assert ack["rejected"] == []


def login(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def moderator(db: None) -> Client:
    user = User.objects.create_user("mod", password="pw", is_staff=True)
    GuildAccess.objects.create(user=user, guild_id=int(MINE))
    return login(user)


@pytest.fixture
def root(db: None) -> Client:
    return login(User.objects.create_superuser("root", "root@example.com", "pw"))


LISTS = {
    "moderation/moderationcase": ModerationCase,
    "invites/invite": None,
    "invites/inviterstats": InviterStats,
    "invites/memberjoin": None,
    "invites/memberlifecycle": MemberLifecycle,
    "invites/guildgrowthdaily": None,
    "guilds/guild": None,
    "stats/memberstats": MemberStats,
    "stats/memberdailystats": None,
    "pipeline/event": None,
}


@pytest.mark.parametrize("page", sorted(LISTS))
def test_a_moderator_sees_only_their_guilds(data, moderator, root, page):
    mine = moderator.get(f"/admin/{page}/")
    assert mine.status_code == 200
    everything = root.get(f"/admin/{page}/")
    assert everything.status_code == 200
    assert MINE in mine.content.decode() and THEIRS not in mine.content.decode()
    assert MINE in everything.content.decode() and THEIRS in everything.content.decode()
    model = LISTS[page]
    if model is not None:  # the object page of the other guild's row is out of reach
        other = model.objects.get(guild_id=int(THEIRS))
        response = moderator.get(f"/admin/{page}/{other.pk}/change/", follow=True)
        assert THEIRS not in response.content.decode()
        own = model.objects.get(guild_id=int(MINE))
        assert moderator.get(f"/admin/{page}/{own.pk}/change/").status_code == 200


def test_staff_without_guilds_and_anonymous_see_nothing(data):
    staff = login(User.objects.create_user("staff", password="pw", is_staff=True))
    assert staff.get("/admin/moderation/moderationcase/").status_code == 403
    index = staff.get("/admin/").content.decode()
    assert "Moderation" not in index and "Invites" not in index
    assert Client().get("/admin/moderation/moderationcase/").status_code == 302  # to login


def test_a_moderator_cannot_use_admin_only_pages(data, moderator):
    for page in ("guilds/bottoken", "guilds/apikey", "auth/user", "pipeline/ingestbatch"):
        assert moderator.get(f"/admin/{page}/").status_code in (403, 404), page
    case = ModerationCase.objects.get(guild_id=int(MINE))
    response = moderator.post(
        f"/admin/moderation/moderationcase/{case.pk}/change/", {"reason": "edited"}
    )
    assert response.status_code == 403
    assert moderator.get(f"/admin/moderation/moderationcase/{case.pk}/delete/").status_code == 403


def test_a_moderator_grants_a_bonus_in_their_guild_only(data, moderator):
    mine = InviterStats.objects.get(guild_id=int(MINE))
    theirs = InviterStats.objects.get(guild_id=int(THEIRS))
    form = {"bonus": "5"}
    response = moderator.post(f"/admin/invites/inviterstats/{mine.pk}/change/", form)
    assert response.status_code == 302
    mine.refresh_from_db()
    assert (mine.bonus, mine.regular, mine.total) == (5, 1, 6)
    moderator.post(f"/admin/invites/inviterstats/{theirs.pk}/change/", form)
    theirs.refresh_from_db()
    assert theirs.bonus == 0


def test_case_list_search_filters_and_detail(data, moderator):
    case = ModerationCase.objects.get(guild_id=int(MINE))
    assert (case.moderator_id, case.reason) == (int(MOD), f"reason in {MINE}")
    base = "/admin/moderation/moderationcase/"
    for query in (
        f"?q={TARGET}",
        "?q=user4001",
        f"?q={MOD}",
        "?action__exact=BAN",
        "?by=human",
        "?timestamp__year=2026&timestamp__month=3",
        f"?target_user_id={TARGET}&guild_id={MINE}",
    ):
        page = moderator.get(base + query)
        assert page.status_code == 200, query
        assert f"reason in {MINE}" in page.content.decode(), query
    for query in ("?q=nobody", "?action__exact=KICK", "?by=system", "?q=12abc"):
        page = moderator.get(base + query)
        assert page.status_code == 200, query
        assert f"reason in {MINE}" not in page.content.decode(), query
    detail = moderator.get(f"{base}{case.pk}/change/").content.decode()
    assert "MEMBER_BAN_ADD" in detail and "targetUserId" in detail  # raw data of both reports


def test_member_page_shows_joins_and_case_history(data, moderator):
    member = MemberLifecycle.objects.get(guild_id=int(MINE), user_id=int(TARGET))
    page = moderator.get(f"/admin/invites/memberlifecycle/{member.pk}/change/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "#1" in body and "BAN" in body and f"invited by {INVITER}" in body


def test_a_superuser_assigns_a_moderator_to_guilds(root):
    user = User.objects.create_user("newmod", password="pw", is_staff=True)
    page = root.get(f"/admin/auth/user/{user.pk}/change/")
    assert page.status_code == 200 and "oderated guilds" in page.content.decode()


@pytest.fixture
def processing_meanwhile():
    """Counts that processing raises between the admin's read of the row and its save."""
    from django.db.models import F
    from django.db.models.signals import pre_save

    def bump(sender, instance, **kwargs):
        InviterStats.objects.filter(pk=instance.pk).update(
            regular=F("regular") + 10, leaves=F("leaves") + 2, fakes=F("fakes") + 1
        )

    pre_save.connect(bump, sender=InviterStats, dispatch_uid="processing_meanwhile")
    yield
    pre_save.disconnect(sender=InviterStats, dispatch_uid="processing_meanwhile")


def test_saving_a_bonus_keeps_counts_processing_changed_meanwhile(
    data, moderator, processing_meanwhile
):
    mine = InviterStats.objects.get(guild_id=int(MINE))
    response = moderator.post(f"/admin/invites/inviterstats/{mine.pk}/change/", {"bonus": "5"})
    assert response.status_code == 302
    mine.refresh_from_db()
    assert (mine.regular, mine.leaves, mine.fakes, mine.bonus) == (11, 2, 1, 5)


def test_list_editable_bonus_saves_keep_live_counts(data, moderator, processing_meanwhile):
    mine = InviterStats.objects.get(guild_id=int(MINE))
    form = {
        "form-TOTAL_FORMS": "1",
        "form-INITIAL_FORMS": "1",
        "form-MIN_NUM_FORMS": "0",
        "form-MAX_NUM_FORMS": "1000",
        "form-0-id": str(mine.pk),
        "form-0-bonus": "7",
        "_save": "Save",
    }
    response = moderator.post("/admin/invites/inviterstats/", form)
    assert response.status_code == 302, response.content[:2000]
    mine.refresh_from_db()
    assert (mine.regular, mine.leaves, mine.fakes, mine.bonus) == (11, 2, 1, 7)
