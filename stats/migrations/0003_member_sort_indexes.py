"""Sort indexes for the member list: by messages (every backend) and by last seen.

The last-seen index needs NULLS LAST (members never seen sort last), which SQLite's CREATE INDEX
does not accept, so it is made on PostgreSQL only, outside the model state.
"""

from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

LAST_SEEN_INDEX = "member_stats_last_seen"


def create_last_seen_index(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {LAST_SEEN_INDEX} "
            "ON member_stats (guild_id, last_seen DESC NULLS LAST, user_id)"
        )


def drop_last_seen_index(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {LAST_SEEN_INDEX}")


class Migration(migrations.Migration):
    dependencies = [("stats", "0002_counter_fillfactor")]

    operations = [
        migrations.AddIndex(
            model_name="memberstats",
            index=models.Index(
                models.F("guild_id"),
                models.OrderBy(models.F("total_messages"), descending=True),
                models.F("user_id"),
                name="member_stats_messages",
            ),
        ),
        migrations.RunPython(create_last_seen_index, drop_last_seen_index),
    ]
