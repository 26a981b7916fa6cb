"""The payment providers and what payments.py decides without a database: the test card processor, Stripe's
webhook signatures (signed with Stripe's own scheme), the sealing of a firm's keys, which provider a firm has."""
from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import stripe
from cryptography.fernet import Fernet, InvalidToken

from billing import payments
from billing.models import PaymentSettings
from billing.providers import stripe_checkout, test_card
from billing.providers.base import Card, Charged, PaymentRequest
from billing.providers.sealing import KeysUnavailable, ProviderKeySeal
from shared.config import Settings
from shared.errors import BadRequest, Conflict, PaymentDeclined, ValidationFailed

TODAY = datetime(2026, 12, 1, tzinfo=UTC)
SECRET = "whsec_" + "a1b2c3d4" * 4


def request(number: str = "4242424242424242", month: int = 12, year: int = 2030, reference: str = "r1",
            card: bool = True) -> PaymentRequest:
    return PaymentRequest(reference=reference, amount=5000, currency="EUR", description="Invoice INV-0001",
                          payer_name="Jane", payer_email="jane@example.com",
                          card=Card(number, month, year, "123") if card else None)


def processor() -> test_card.TestCardProcessor:
    return test_card.TestCardProcessor(test_mode=True, today=TODAY)


# -- the test card processor ---------------------------------------------------------------------------


def test_the_test_card_4242_is_charged_with_the_same_charge_id_for_the_same_attempt():
    first = processor().pay(request(reference="attempt-1"))
    assert isinstance(first, Charged) and first.provider == "test" and first.card_last4 == "4242"
    assert processor().pay(request(reference="attempt-1")) == first
    assert processor().pay(request(reference="attempt-2")).charge_id != first.charge_id


def test_the_declining_test_card_is_a_402():
    with pytest.raises(PaymentDeclined) as refused:
        processor().pay(request("4000000000000002"))
    assert refused.value.status == 402 and "declined" in refused.value.description


def test_a_real_card_number_is_declined_in_test_mode():
    with pytest.raises(PaymentDeclined, match="test cards only"):
        processor().pay(request("4111111111111111"))  # a valid number, not one of the test cards


def test_a_number_that_fails_the_check_digit_is_a_422_not_a_decline():
    with pytest.raises(ValidationFailed) as refused:
        processor().pay(request("4242424242424241"))
    assert refused.value.errors == {"card": {"number": ["Invalid card number."]}}


def test_an_expired_card_is_declined():
    with pytest.raises(PaymentDeclined, match="expired"):
        processor().pay(request(month=11, year=2026))
    assert isinstance(processor().pay(request(month=12, year=2026)), Charged)  # this month still works


def test_the_test_processor_needs_a_card():
    with pytest.raises(ValidationFailed) as refused:
        processor().pay(request(card=False))
    assert "card" in refused.value.errors


def test_the_test_processor_refuses_to_exist_while_test_mode_is_off():
    with pytest.raises(Conflict, match="PORTA_PAYMENTS_TEST_MODE"):
        test_card.TestCardProcessor(test_mode=False)


def test_the_luhn_check():
    assert test_card.luhn_valid("4242424242424242") and test_card.luhn_valid("378282246310005")
    assert not test_card.luhn_valid("4242424242424243")


# -- which provider a firm has ---------------------------------------------------------------------------


def installation(test_mode: bool) -> payments.Installation:
    return payments.Installation(test_mode=test_mode, stripe_api_base="http://127.0.0.1:1",
                                 sealing_keys=Fernet.generate_key().decode(), base_url="https://porta.example")


def test_without_test_mode_a_firm_that_chose_nothing_takes_no_online_payments():
    assert payments.provider_name(None, installation(True)) == "test"
    assert payments.provider_name(None, installation(False)) is None
    with pytest.raises(Conflict, match="no online payments"):
        payments.provider_for(None, installation(False))


def test_a_firm_that_chose_the_test_provider_is_refused_once_test_mode_is_off():
    row = PaymentSettings(provider="test")
    assert isinstance(payments.provider_for(row, installation(True)), test_card.TestCardProcessor)
    assert payments.provider_name(row, installation(False)) is None
    with pytest.raises(Conflict):
        payments.provider_for(row, installation(False))


def test_the_settings_answer_never_holds_a_key():
    setup = installation(False)
    seal = ProviderKeySeal(setup.sealing_keys)
    row = PaymentSettings(provider="stripe", stripe_secret_key=seal.seal("sk_test_abcdefgh12345678"),
                          stripe_webhook_secret=seal.seal(SECRET))
    described = payments.describe_settings(row, setup)
    assert described["provider"] == "stripe" and described["available_providers"] == ["stripe"]
    assert described["stripe"] == {"secret_key_set": True, "webhook_secret_set": True,
                                   "webhook_url": "https://porta.example/api/webhooks/stripe"}
    assert "sk_test" not in json.dumps(described, default=str) and "whsec" not in json.dumps(described, default=str)


def test_the_fingerprint_of_a_payment_keeps_only_the_cards_last_digits():
    data = {"amount": 5, "payer": {"name": "J", "email": "j@x.org"},
            "card": {"number": "4242424242424242", "exp_month": 1, "exp_year": 2030, "cvc": "123"}}
    kept = json.dumps(payments.what_matters(data))
    assert "4242424242424242" not in kept and "123" not in kept and '"last4": "4242"' in kept


# -- sealing the firm's keys -----------------------------------------------------------------------------


def test_a_sealed_key_opens_again_and_does_not_show_the_key():
    seal = ProviderKeySeal(Fernet.generate_key().decode())
    sealed = seal.seal("sk_live_secretsecret")
    assert "secretsecret" not in sealed and seal.open(sealed) == "sk_live_secretsecret"


def test_sealed_keys_survive_a_rotation_of_the_installation_key():
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    sealed = ProviderKeySeal(old).seal("whsec_x")
    assert ProviderKeySeal(f"{new},{old}").open(sealed) == "whsec_x"
    with pytest.raises(KeysUnavailable):
        ProviderKeySeal(new).open(sealed)


def test_the_key_that_opens_link_tokens_does_not_open_payment_keys():
    key = Fernet.generate_key().decode()
    sealed = ProviderKeySeal(key).seal("sk_test_x")
    with pytest.raises(InvalidToken):  # the derived key is another key
        Fernet(key).decrypt(sealed.encode())


def test_no_sealing_key_means_no_stored_keys():
    with pytest.raises(KeysUnavailable):
        ProviderKeySeal("")


# -- Stripe's webhook signatures, made with Stripe's own scheme -------------------------------------------


def completed_event(session_id: str = "cs_test_1") -> str:
    return json.dumps({"id": "evt_1", "object": "event", "type": "checkout.session.completed",
                       "data": {"object": {"id": session_id, "object": "checkout.session",
                                           "metadata": {"porta_firm_id": "7f1d2c4e-0000-4000-8000-000000000001"}}}})


def test_a_correctly_signed_event_verifies():
    payload = completed_event()
    header = stripe.WebhookSignature.generate_signature_header(payload, SECRET)
    assert stripe_checkout.verified_event(payload.encode(), header, SECRET)["id"] == "evt_1"


@pytest.mark.parametrize("what", ["another secret", "another body", "no header", "stale", "not a header"])
def test_a_wrongly_signed_event_is_a_400(what):
    payload = completed_event()
    header = stripe.WebhookSignature.generate_signature_header(
        payload, "whsec_" + "z" * 32 if what == "another secret" else SECRET,
        timestamp=int(time.time()) - 3600 if what == "stale" else None)
    body = completed_event("cs_test_2") if what == "another body" else payload
    given = {"no header": None, "not a header": "t=abc"}.get(what, header)
    with pytest.raises(BadRequest):
        stripe_checkout.verified_event(body.encode(), given, SECRET)


def test_the_firm_of_an_event_is_read_from_its_sessions_metadata():
    assert str(payments.firm_of_notice(json.loads(completed_event()))) == "7f1d2c4e-0000-4000-8000-000000000001"
    assert payments.firm_of_notice({"data": {"object": {"id": "pi_1"}}}) is None
    assert payments.firm_of_notice({"data": "nonsense"}) is None


def test_only_paid_checkout_events_are_acted_on():
    assert payments.is_paid_checkout(json.loads(completed_event()))
    assert not payments.is_paid_checkout({"type": "payment_intent.succeeded", "data": {"object": {"object": "x"}}})
    assert not payments.is_paid_checkout({"type": "checkout.session.completed", "data": []})


def test_no_deployment_configuration_turns_test_payments_on(monkeypatch):
    """Production is configured from deploy/ (compose, k8s, images): none of it may name test mode, so it is
    off there (its default); only `make run` and the test runs turn it on."""
    root = Path(__file__).resolve().parents[4]
    named = [str(path.relative_to(root)) for path in (root / "deploy").rglob("*")
             if path.is_file() and "PAYMENTS_TEST_MODE" in path.read_text(errors="ignore")]
    assert named == []
    monkeypatch.delenv("PORTA_PAYMENTS_TEST_MODE", raising=False)
    assert Settings().payments_test_mode is False
