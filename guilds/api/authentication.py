"""API authentication: ``Authorization: Bearer <api key>`` (sessions from the admin also work)."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from guilds.models import ApiKey
from guilds.selectors import ApiKeyPrincipal
from guilds.services import authenticate_api_key


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


# drf-spectacular registers an extension in its untyped __init_subclass__
class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    """Documents the Bearer API key in the OpenAPI schema."""

    target_class = "guilds.api.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema: object) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "an API key (create_api_key)"}
