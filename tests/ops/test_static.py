"""Static files are served by the app itself in every mode, offline: the admin's styles and the
API docs' Swagger UI (drf-spectacular-sidecar, no CDN)."""

from __future__ import annotations

import re

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_the_admin_is_styled():
    response = Client().get("/static/admin/css/base.css")
    assert response.status_code == 200
    assert b"body" in b"".join(response.streaming_content)


def test_the_api_docs_load_their_assets_from_this_server():
    page = Client().get("/api/docs/").content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', page)
    assert assets, page
    for asset in assets:
        assert asset.startswith("/static/"), asset  # never a CDN
        response = Client().get(asset)
        assert response.status_code == 200, asset
