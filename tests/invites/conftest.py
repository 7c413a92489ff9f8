"""The invites test modules share helpers (``helpers.py``) that assert: pytest rewrites their
asserts as it does the test modules' own."""

import pytest

pytest.register_assert_rewrite("tests.invites.helpers")
