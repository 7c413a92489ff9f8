"""API authentication: ``Authorization: Bearer <api key>`` (sessions from the admin also work)."""

from __future__ import annotations

from dataclasses import dataclass, field

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from guilds.models import ApiKey
from guilds.services import authenticate_api_key


@dataclass
class ApiKeyPrincipal:
    """The caller behind an API key; DRF wants a user-like object."""

    key: ApiKey
    guild_ids: frozenset[int] = field(default_factory=frozenset)
    is_authenticated: bool = True
    is_superuser: bool = False
    is_staff: bool = False

    @property
    def pk(self) -> str:  # used by DRF throttling to tell callers apart
        return f"apikey:{self.key.pk}"


class ApiKeyAuthentication(BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[ApiKeyPrincipal, ApiKey] | None:
        header = get_authorization_header(request).decode("latin-1").strip()
        if not header:
            return None
        scheme, _, key = header.partition(" ")
        if scheme != self.keyword:
            return None
        if not key.strip():
            raise AuthenticationFailed("missing API key")
        found = authenticate_api_key(key)
        if found is None:
            raise AuthenticationFailed("invalid or revoked API key")
        row, guild_ids = found
        return ApiKeyPrincipal(row, guild_ids), row

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    """Documents the Bearer API key in the OpenAPI schema."""

    target_class = "guilds.api.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema: object) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "an API key (create_api_key)"}
