"""The sealer of retrievable links' tokens (links.sealing): keys, sealing and opening. No database."""
from __future__ import annotations

import pytest

from links import tokens
from links.sealing import Sealer, SealingKeyError, new_key


def test_a_sealed_token_opens_with_its_key_only():
    key, token = new_key(), tokens.new_token()
    sealed = Sealer(key).seal(token)
    assert token not in sealed and Sealer(key).unseal(sealed) == token
    assert Sealer(new_key()).unseal(sealed) is None
    assert Sealer(key).seal(token) != sealed  # a fresh IV each time: equal tokens do not look equal


def test_an_altered_sealed_token_opens_to_nothing():
    sealer, token = Sealer(new_key()), tokens.new_token()
    sealed = sealer.seal(token)
    flipped = sealed[:20] + ("A" if sealed[20] != "A" else "B") + sealed[21:]
    assert sealer.unseal(flipped) is None
    assert sealer.unseal("not a sealed token") is None
    assert sealer.unseal("é") is None


def test_a_key_list_seals_with_the_first_and_opens_with_any():
    old, new = new_key(), new_key()
    token = tokens.new_token()
    sealed_with_old = Sealer(old).seal(token)
    rotated = Sealer(f"{new}, {old}")
    assert rotated.unseal(sealed_with_old) == token
    assert Sealer(new).unseal(rotated.seal(token)) == token
    assert Sealer(new).unseal(sealed_with_old) is None  # the old key dropped: no longer revealable


@pytest.mark.parametrize("keys", ["", " , ", "CHANGE-ME", "c2hvcnQ=", f"{'x' * 44}"])
def test_a_missing_or_malformed_key_is_refused_without_showing_it(keys):
    with pytest.raises(SealingKeyError) as refused:
        Sealer(keys)
    assert "PORTA_LINK_SEALING_KEY" in str(refused.value)
    assert not keys.strip(" ,") or keys not in str(refused.value)


def test_a_good_key_after_a_bad_one_is_still_refused():
    with pytest.raises(SealingKeyError, match="key 2 of 2"):
        Sealer(f"{new_key()},CHANGE-ME")


def test_the_sealer_never_shows_its_keys():
    key = new_key()
    assert key not in repr(Sealer(key))
