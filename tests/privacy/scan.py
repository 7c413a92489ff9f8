"""Where a user id still is: every bigint column and every text/JSON/array column of every model
(``apps.get_models()``, so a new table is covered without touching the tests)."""

from __future__ import annotations

from django.apps import apps
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models.functions import Cast

from privacy.models import MemberOptOut, PrivacyAudit

# docs/privacy.md says the id stays there: the audit, and the list that names who opted out
KEPT = {PrivacyAudit, MemberOptOut}
TEXT = (models.CharField, models.TextField, models.JSONField, ArrayField)


def places_naming(user_id: int) -> list[str]:
    found = []
    for model in apps.get_models():
        if model in KEPT or model._meta.proxy:
            continue
        rows = model._default_manager.all()
        for field in model._meta.concrete_fields:
            if isinstance(field, models.BigIntegerField):
                if rows.filter(**{field.attname: user_id}).exists():
                    found.append(f"{model._meta.db_table}.{field.column} = id")
            elif isinstance(field, TEXT):
                named = rows.annotate(_text=Cast(field.attname, models.TextField())).filter(
                    _text__contains=str(user_id)
                )
                if named.exists():
                    found.append(f"{model._meta.db_table}.{field.column} contains id")
    return found
