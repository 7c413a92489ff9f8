from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    """Opt-outs (refused at ingest), erasure through the erasers every app registers, the audit."""

    name = "privacy"
    verbose_name = "Privacy"
