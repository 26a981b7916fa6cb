"""Link tokens themselves (links.tokens), and the pure rules around them. No database."""
from __future__ import annotations

import ast
import re
import uuid
from pathlib import Path

import pytest

from links import tokens
from shared.errors import ValidationFailed

PACKAGE = Path(__file__).parents[2] / "links"


def test_tokens_are_at_least_43_url_safe_characters_and_never_repeat():
    made = [tokens.new_token() for _ in range(100_000)]
    assert min(map(len, made)) >= 43  # 32 bytes = 256 bits, base64url without padding
    assert all(re.fullmatch(r"[A-Za-z0-9_-]+", t) for t in made)
    assert len(set(made)) == len(made)


def test_no_link_code_imports_random_or_time_based_uuids():
    for module in PACKAGE.glob("*.py"):
        tree = ast.parse(module.read_text())
        imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        names = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
        names |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) for alias in node.names}
        assert "random" not in imported, module.name
        assert not names & {"uuid1", "uuid3", "uuid5", "getrandbits", "randint"}, module.name
    assert "secrets.token_urlsafe(TOKEN_BYTES)" in (PACKAGE / "tokens.py").read_text()


def test_a_link_to_an_account_concerns_that_account_and_any_other_target_none():
    account = uuid.uuid4()
    assert tokens.account_of({"type": "account", "id": str(account)}) == account
    assert tokens.account_of({"type": "user", "id": str(account)}) is None
    assert tokens.account_of({"type": "account", "id": "not-a-uuid"}) is None


def test_a_public_page_asks_for_a_known_kind_or_any():
    assert tokens.check_kind(None) is None and tokens.check_kind("share") == "share"
    with pytest.raises(ValidationFailed):
        tokens.check_kind("coupon")
