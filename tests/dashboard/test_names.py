"""Names where ids were: the API's members, leaderboards and top channels, and the pages."""

from __future__ import annotations

import re

import pytest

from guilds.services import create_api_key
from tests.dashboard.conftest import GUILD, client_for
from tests.directory.factories import channel, directory, person
from tests.factories import message, ms

pytestmark = pytest.mark.django_db(transaction=True)

ALICE, BOB = "900000000000000101", "900000000000000102"
CHANNEL, CATEGORY = "900000000000000201", "900000000000000202"
SNOWFLAKE_TEXT = re.compile(r">[^<]*\b\d{17,20}\b[^<]*<")  # an id shown as text, not in a title


@pytest.fixture
def named(ingest, people):
    status, ack = ingest(
        [
            message(GUILD, ALICE, CHANNEL, ms(ago=600)),
            message(GUILD, ALICE, CHANNEL, ms(ago=500)),
            message(GUILD, BOB, CHANNEL, ms(ago=400)),
            directory(
                GUILD,
                ms(ago=300),
                channels=[
                    channel(CATEGORY, "Talk", type_=4),
                    channel(CHANNEL, "general", parent=CATEGORY),
                ],
                members=[
                    person(ALICE, "alice", global_name="Alice Liddell", avatar="a_0123abcd"),
                    person(BOB, "bob", nick="Bobby"),
                ],
            ),
        ]
    )
    assert status == 200 and not ack["rejected"], ack
    return people


def test_the_api_names_members_and_channels(named):
    key = create_api_key("names", [int(GUILD)])[1]
    api = client_for(None)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    page = api.get(f"/api/guilds/{GUILD}/stats/members", **auth).json()
    # no join was seen: Discord's join date from the directory
    assert {m["joinedAt"] for m in page["members"]} == {"2026-01-02T03:04:05.000Z"}
    assert [
        (m["userId"], m["displayName"], m["username"], m["avatarUrl"]) for m in page["members"]
    ] == [
        (
            ALICE,
            "Alice Liddell",
            "alice",
            f"https://cdn.discordapp.com/avatars/{ALICE}/a_0123abcd.gif?size=64",
        ),
        (BOB, "Bobby", "bob", None),
    ]
    board = api.get(f"/api/guilds/{GUILD}/stats/leaderboard?category=messages", **auth).json()
    assert [(e["rank"], e["displayName"]) for e in board["entries"]] == [
        (1, "Alice Liddell"),
        (2, "Bobby"),
    ]
    overview = api.get(f"/api/guilds/{GUILD}/stats/overview", **auth).json()
    assert overview["topChannels"] == [
        {
            "channelId": CHANNEL,
            "name": "general",
            "type": "text",
            "deleted": False,
            "category": "Talk",
            "messages": 3,
            "voiceMinutes": 0,
        }
    ]
    csv = api.get(f"/api/guilds/{GUILD}/stats/members?format=csv", **auth).content.decode()
    assert csv.splitlines()[1].endswith(
        f",Alice Liddell,alice,https://cdn.discordapp.com/avatars/{ALICE}/a_0123abcd.gif?size=64"
    )


def test_the_pages_show_names_not_ids(named):
    admin = client_for(named["admin"])
    members = admin.get(f"/guilds/{GUILD}/members/").content.decode()
    assert "Alice Liddell" in members and "Bobby" in members
    assert f'title="{ALICE}"' in members  # the id stays on hover
    table = members[members.index("<tbody>") : members.index("</tbody>")]
    assert not SNOWFLAKE_TEXT.search(table)
    assert "@alice" in table and "@bob" in table  # the username under the display name
    member = admin.get(f"/guilds/{GUILD}/members/{BOB}/").content.decode()
    assert "Bobby" in member and "@bob" in member
    assert f'data-copy-button="{BOB}"' in member  # the id, one click from the clipboard


def test_the_directory_endpoint_lists_channels_and_roles(ingest, people):
    role_id = "900000000000000301"
    ingest(
        [
            directory(
                GUILD,
                ms(ago=300),
                channels=[channel(CHANNEL, "general")],
                roles=[{"id": role_id, "name": "Moderator", "color": 0x3498DB, "position": 3}],
                members=[person(ALICE, "alice", roles=[role_id])],
            )
        ]
    )
    key = create_api_key("names", [int(GUILD)])[1]
    body = client_for(None).get(
        f"/api/guilds/{GUILD}/directory", HTTP_AUTHORIZATION=f"Bearer {key}"
    )
    assert body.json() == {
        "guildId": GUILD,
        "channels": [
            {
                "channelId": CHANNEL,
                "name": "general",
                "type": "text",
                "parentId": None,
                "position": 0,
                "deleted": False,
            }
        ],
        "roles": [
            {
                "roleId": role_id,
                "name": "Moderator",
                "color": "#3498db",
                "position": 3,
                "managed": False,
                "deleted": False,
                "members": 1,
            }
        ],
    }


def test_members_are_found_by_name_or_id(named):
    key = create_api_key("names", [int(GUILD)])[1]
    auth = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    api = client_for(None)

    def found(search: str) -> list[str]:
        url = f"/api/guilds/{GUILD}/stats/members?search={search}"
        body = api.get(url, **auth).json()
        assert body["pagination"]["total"] == len(body["members"])
        return [m["userId"] for m in body["members"]]

    assert found("LIDD") == [ALICE]  # global name, any case
    assert found("bobby") == [BOB]  # nickname
    assert found(BOB) == [BOB]  # an id
    assert found("nobody") == []
    page = client_for(named["admin"]).get(f"/guilds/{GUILD}/members/?search=alice").content
    assert b"Alice Liddell" in page and b"Bobby" not in page
