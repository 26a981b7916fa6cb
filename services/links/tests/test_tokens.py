"""Issuing, resolving, redeeming and revoking links, on the real database (links.tokens)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import eventlet
import pytest
from sqlalchemy import text

from links import tokens
from shared.errors import Gone, NotFound, ValidationFailed


def issue(db, firm, target, kind="invitation", **options):
    return tokens.issue(db, firm, kind, target, **options)


# -- the tokens themselves (their shape and randomness: unit/test_tokens.py) ----------------------


def test_only_the_hash_of_a_token_is_stored(db, firm, user_target):
    issued = issue(db, firm, user_target)
    rows = db.execute(text("SELECT l::text FROM links l")).scalars().all()
    assert not [row for row in rows if issued.token in row]
    assert any(tokens.hash_token(issued.token) in row for row in rows)


# -- resolve -------------------------------------------------------------------------------------


def test_an_issued_link_resolves_to_its_firm_kind_and_target(db, firm, user_target, address):
    issued = issue(db, firm, user_target, kind="share", single_use=False)
    link = tokens.resolve(db, issued.token, address)
    assert (link.id, link.firm_id, link.kind, link.target) == (issued.link.id, firm, "share", user_target)


def test_an_unknown_token_is_not_found(db, address):
    with pytest.raises(NotFound):
        tokens.resolve(db, tokens.new_token(), address)


@pytest.mark.parametrize("token", ["", "short", "x" * 5000, "not a token!" * 4, None, 42])
def test_a_malformed_token_is_not_found(db, address, token):
    with pytest.raises(NotFound):
        tokens.resolve(db, token, address)


def test_a_token_asked_for_as_another_kind_is_not_found(db, firm, user_target, address):
    issued = issue(db, firm, user_target, kind="share")
    with pytest.raises(NotFound):
        tokens.resolve(db, issued.token, address, kind="file_request")
    assert tokens.resolve(db, issued.token, address, kind="share").id == issued.link.id


def test_a_link_past_its_expiry_by_the_databases_clock_is_gone(db, firm, user_target, address):
    issued = issue(db, firm, user_target, expires_at=datetime.now(UTC) + timedelta(days=7))
    db.execute(text("UPDATE links SET expires_at = now() - interval '1 second' WHERE id = :id"),
               {"id": issued.link.id})
    with pytest.raises(Gone, match="expired"):
        tokens.resolve(db, issued.token, address)


def test_a_link_just_before_its_expiry_resolves(db, firm, user_target, address):
    issued = issue(db, firm, user_target, expires_at=datetime.now(UTC) + timedelta(days=7))
    db.execute(text("UPDATE links SET expires_at = now() + interval '1 second' WHERE id = :id"),
               {"id": issued.link.id})
    assert tokens.resolve(db, issued.token, address).id == issued.link.id


def test_a_revoked_link_is_gone(db, firm, user_target, address):
    issued = issue(db, firm, user_target)
    tokens.revoke(db, firm, issued.link.id)
    with pytest.raises(Gone, match="revoked"):
        tokens.resolve(db, issued.token, address)


def test_resolving_does_not_use_up_a_single_use_link(db, firm, user_target, address):
    issued = issue(db, firm, user_target)
    tokens.resolve(db, issued.token, address)
    assert tokens.redeem(db, issued.token, address).used_at is not None


def test_an_expiry_in_the_past_is_refused(db, firm, user_target):
    with pytest.raises(ValidationFailed) as failure:
        issue(db, firm, user_target, expires_at=datetime.now(UTC) - timedelta(seconds=1))
    assert "expires_at" in failure.value.errors


# -- redeem --------------------------------------------------------------------------------------


def test_a_single_use_link_redeemed_twice_is_gone_the_second_time(db, firm, user_target, address):
    issued = issue(db, firm, user_target)
    assert tokens.redeem(db, issued.token, address).id == issued.link.id
    with pytest.raises(Gone, match="already used"):
        tokens.redeem(db, issued.token, address)


def test_a_used_single_use_link_no_longer_resolves(db, firm, user_target, address):
    issued = issue(db, firm, user_target)
    tokens.redeem(db, issued.token, address)
    with pytest.raises(Gone):
        tokens.resolve(db, issued.token, address)


def test_a_multi_use_link_stays_live_and_keeps_its_first_use(db, firm, user_target, address):
    issued = issue(db, firm, user_target, kind="file_request", single_use=False)
    first = tokens.redeem(db, issued.token, address).used_at
    assert tokens.redeem(db, issued.token, address).used_at == first


def test_an_expired_link_cannot_be_redeemed(db, firm, user_target, address):
    issued = issue(db, firm, user_target)
    db.execute(text("UPDATE links SET expires_at = now() - interval '1 second' WHERE id = :id"),
               {"id": issued.link.id})
    with pytest.raises(Gone, match="expired"):
        tokens.redeem(db, issued.token, address)


def test_a_revoked_link_cannot_be_redeemed(db, firm, user_target, address):
    issued = issue(db, firm, user_target)
    tokens.revoke(db, firm, issued.link.id)
    with pytest.raises(Gone, match="revoked"):
        tokens.redeem(db, issued.token, address)


def test_two_concurrent_redeems_of_a_single_use_link_exactly_one_wins(committed, firm, user_target, address,
                                                                       wait_until_blocked):
    setup = committed()
    issued = issue(setup, firm, user_target)
    setup.commit()
    first, second = committed(), committed()
    tokens.redeem(first, issued.token, address)  # holds the row until it commits
    second.connection()  # in its transaction before the race, so its connection can be watched
    outcome = []

    def redeem_second():
        try:
            tokens.redeem(second, issued.token, address)
            second.commit()
            outcome.append("won")
        except Gone:
            second.rollback()
            outcome.append("gone")

    racer = eventlet.spawn(redeem_second)
    wait_until_blocked(second)  # the second UPDATE waits for the first transaction
    assert outcome == []
    first.commit()
    racer.wait()
    assert outcome == ["gone"]


# -- replace and revoke --------------------------------------------------------------------------


def test_issuing_with_replace_voids_the_earlier_link(db, firm, user_target, address):
    old = issue(db, firm, user_target)
    new = issue(db, firm, user_target, replace=True)
    assert [link.id for link in new.replaced] == [old.link.id]
    with pytest.raises(Gone, match="revoked"):
        tokens.resolve(db, old.token, address)
    assert tokens.resolve(db, new.token, address).id == new.link.id


def test_issuing_without_replace_keeps_the_earlier_link(db, firm, user_target, address):
    old = issue(db, firm, user_target, kind="share", single_use=False)
    issue(db, firm, user_target, kind="share", single_use=False)
    assert tokens.resolve(db, old.token, address).id == old.link.id


def test_replace_leaves_other_kinds_targets_and_firms_alone(db, firm, other_firm, user_target, address):
    keep = [
        issue(db, firm, user_target, kind="share"),
        issue(db, firm, {"type": "user", "id": "someone-else"}),
        issue(db, other_firm, user_target),
    ]
    issue(db, firm, user_target, replace=True)
    for kept in keep:
        assert tokens.resolve(db, kept.token, address).id == kept.link.id


def test_revoking_a_target_revokes_its_live_links_of_that_kind(db, firm, user_target, address):
    first, second = issue(db, firm, user_target), issue(db, firm, user_target)
    share = issue(db, firm, user_target, kind="share")
    revoked = tokens.revoke_target(db, firm, "invitation", user_target)
    assert {link.id for link in revoked} == {first.link.id, second.link.id}
    assert tokens.resolve(db, share.token, address).id == share.link.id


def test_revoking_a_target_without_a_kind_revokes_links_of_every_kind(db, firm, user_target):
    issued = [issue(db, firm, user_target, kind=kind) for kind in ("share", "signature")]
    revoked = tokens.revoke_target(db, firm, None, user_target)
    assert {link.id for link in revoked} == {i.link.id for i in issued}


def test_revoking_a_target_skips_links_already_dead(db, firm, user_target, address):
    used = issue(db, firm, user_target)
    tokens.redeem(db, used.token, address)
    assert tokens.revoke_target(db, firm, "invitation", user_target) == []


def test_another_firm_cannot_revoke_a_link(db, firm, other_firm, user_target, address):
    issued = issue(db, firm, user_target)
    with pytest.raises(NotFound):
        tokens.revoke(db, other_firm, issued.link.id)
    assert tokens.resolve(db, issued.token, address).id == issued.link.id


def test_another_firm_cannot_revoke_a_targets_links(db, firm, other_firm, user_target, address):
    issued = issue(db, firm, user_target)
    assert tokens.revoke_target(db, other_firm, None, user_target) == []
    assert tokens.resolve(db, issued.token, address).id == issued.link.id


def test_revoking_a_revoked_link_changes_nothing(db, firm, user_target):
    issued = issue(db, firm, user_target)
    first, changed = tokens.revoke(db, firm, issued.link.id)
    again, changed_again = tokens.revoke(db, firm, issued.link.id)
    assert (changed, changed_again) == (True, False) and again.revoked_at == first.revoked_at


def test_concurrent_replacing_issues_leave_one_live_link(committed, firm, user_target, address, wait_until_blocked):
    first, second = committed(), committed()
    a = issue(first, firm, user_target, replace=True)  # holds the target's lock until it commits
    second.connection()
    result = []
    racer = eventlet.spawn(lambda: result.append(issue(second, firm, user_target, replace=True)))
    wait_until_blocked(second)  # the second waits for the first
    assert result == []
    first.commit()
    racer.wait()
    second.commit()
    b = result[0]
    assert [link.id for link in b.replaced] == [a.link.id]
    check = committed()
    with pytest.raises(Gone):
        tokens.resolve(check, a.token, address)
    assert tokens.resolve(check, b.token, address).id == b.link.id
