"""Retrievable links: the token sealed with the server's key (links.sealing), revealed to its own firm
(links.tokens.reveal), on the real database. The sealer alone: unit/test_sealing.py."""
from __future__ import annotations

import logging
import uuid

import pytest
from sqlalchemy import text

from links import tokens
from links.sealing import Sealer, new_key
from shared.errors import ValidationFailed


@pytest.fixture
def sealer():
    return Sealer(new_key())


def retrievable(db, firm, sealer, kind="file_request", **options):
    target = {"type": kind, "id": str(uuid.uuid4())}
    return tokens.issue(db, firm, kind, target, single_use=False, seal=sealer.seal, **options)


def row_texts(db, link_id):
    """Every column of the link's row as text, and the whole row as one text."""
    row = db.execute(text("SELECT l::text AS whole, to_jsonb(l) AS columns FROM links l WHERE id = :id"),
                     {"id": link_id}).one()
    return [row.whole, *(str(value) for value in row.columns.values())]


# -- issue ---------------------------------------------------------------------------------------


def test_a_retrievable_link_keeps_its_token_sealed_and_nothing_in_clear(db, firm, sealer):
    issued = retrievable(db, firm, sealer)
    texts = row_texts(db, issued.link.id)
    # Neither the token nor any part of it long enough to mean anything (8 characters = 48 bits).
    pieces = {issued.token[i:i + 8] for i in range(len(issued.token) - 7)}
    assert not [t for t in texts for piece in pieces if piece in t]
    sealed = db.scalar(text("SELECT sealed_token FROM links WHERE id = :id"), {"id": issued.link.id})
    assert sealer.unseal(sealed) == issued.token


def test_a_link_not_asked_retrievable_keeps_no_sealed_token(db, firm, user_target):
    issued = tokens.issue(db, firm, "share", user_target)
    assert db.scalar(text("SELECT sealed_token FROM links WHERE id = :id"), {"id": issued.link.id}) is None


@pytest.mark.parametrize("kind", ["invitation"])
def test_only_kinds_whose_product_shows_the_link_again_can_be_retrievable(db, firm, user_target, sealer, kind):
    with pytest.raises(ValidationFailed) as refused:
        tokens.issue(db, firm, kind, user_target, seal=sealer.seal)
    assert "retrievable" in refused.value.errors
    assert db.scalar(text("SELECT count(*) FROM links WHERE firm_id = :f"), {"f": firm}) == 0


@pytest.mark.parametrize("kind", tokens.RETRIEVABLE_KINDS)
def test_every_kind_whose_product_shows_the_link_again_can_be_retrievable(db, firm, sealer, kind):
    issued = retrievable(db, firm, sealer, kind=kind)
    assert tokens.reveal(db, firm, [str(issued.link.id)], sealer.unseal)[0].token == issued.token


# -- reveal --------------------------------------------------------------------------------------


def test_reveal_answers_each_asked_id_in_order(db, firm, user_target, sealer, address):
    first, second = retrievable(db, firm, sealer), retrievable(db, firm, sealer)
    plain = tokens.issue(db, firm, "share", user_target)
    asked = [str(second.link.id), "not-a-uuid", str(uuid.uuid4()), str(plain.link.id), str(first.link.id),
             str(second.link.id)]
    answers = tokens.reveal(db, firm, asked, sealer.unseal)
    assert [(a.id, a.token, a.live) for a in answers] == [
        (asked[0], second.token, True), ("not-a-uuid", None, False), (asked[2], None, False),
        (asked[3], None, True), (asked[4], first.token, True), (asked[5], second.token, True)]
    assert tokens.resolve(db, answers[0].token, address).id == second.link.id
    assert tokens.reveal(db, firm, [], sealer.unseal) == []


def test_another_firm_gets_nothing_not_even_liveness(db, firm, other_firm, sealer):
    issued = retrievable(db, firm, sealer)
    [answer] = tokens.reveal(db, other_firm, [str(issued.link.id)], sealer.unseal)
    assert (answer.token, answer.live) == (None, False)


def test_a_revoked_expired_or_used_link_is_revealed_as_not_live(db, firm, sealer, address):
    revoked, expired = retrievable(db, firm, sealer), retrievable(db, firm, sealer)
    used = tokens.issue(db, firm, "file_request", {"type": "file_request", "id": "1"}, single_use=True,
                        seal=sealer.seal)
    tokens.revoke(db, firm, revoked.link.id)
    db.execute(text("UPDATE links SET expires_at = now() - interval '1 second' WHERE id = :id"),
               {"id": expired.link.id})
    tokens.redeem(db, used.token, address)
    answers = tokens.reveal(db, firm, [str(i.link.id) for i in (revoked, expired, used)], sealer.unseal)
    assert [(a.token, a.live) for a in answers] == [(revoked.token, False), (expired.token, False),
                                                    (used.token, False)]


def test_a_token_sealed_with_another_key_is_not_revealed_and_is_logged_without_it(db, firm, sealer, caplog):
    issued = retrievable(db, firm, sealer)
    caplog.set_level(logging.DEBUG)
    [answer] = tokens.reveal(db, firm, [str(issued.link.id)], Sealer(new_key()).unseal)
    assert (answer.token, answer.live) == (None, True)
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert str(issued.link.id) in warning.getMessage()
    assert not [r for r in caplog.records if issued.token in r.getMessage() + str(r.__dict__)]


def test_a_sealed_token_moved_to_another_row_is_not_revealed(db, firm, sealer):
    """Fernet authenticates the token, not the row it is in: the hash check binds the two."""
    mine, theirs = retrievable(db, firm, sealer), retrievable(db, firm, sealer)
    db.execute(text("UPDATE links SET sealed_token = (SELECT sealed_token FROM links WHERE id = :src) "
                    "WHERE id = :dst"), {"src": theirs.link.id, "dst": mine.link.id})
    [answer] = tokens.reveal(db, firm, [str(mine.link.id)], sealer.unseal)
    assert answer.token is None
