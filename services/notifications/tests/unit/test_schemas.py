"""What send_email accepts: a known template and the context variables it needs."""
from __future__ import annotations

import uuid

import pytest

from shared.contracts.notifications import SendEmailSchema
from shared.errors import ValidationFailed
from shared.schemas import validated

TEAM = {"firm_name": "Acme CPA", "inviter_name": "Olive", "accept_url": "https://porta.example/accept?token=t"}


def payload(**changes):
    return {"firm_id": str(uuid.uuid4()), "to": "emma@example.com", "template": "team_invitation",
            "context": TEAM, **changes}


def errors_of(data) -> dict:
    with pytest.raises(ValidationFailed) as failure:
        validated(SendEmailSchema(), data)
    return failure.value.errors


def test_a_valid_send_loads_the_context_with_its_defaults():
    data = validated(SendEmailSchema(), payload())
    assert data["context"] == {**TEAM, "recipient_name": None, "needs_activation": False, "activation_url": None}


def test_an_unknown_template_is_a_validation_error_on_template():
    assert "template" in errors_of(payload(template="password_reset"))


def test_a_missing_context_variable_is_named():
    assert errors_of(payload(context={"firm_name": "Acme CPA", "inviter_name": "Olive"})) == {
        "context": {"accept_url": ["Missing data for required field."]}}


def test_a_misspelt_context_variable_is_refused():
    assert "inviter" in errors_of(payload(context={**TEAM, "inviter": "x"}))["context"]


def test_links_must_be_web_links():
    assert "accept_url" in errors_of(payload(context={**TEAM, "accept_url": "javascript:alert(1)"}))["context"]


def test_the_banner_needs_its_link():
    context = {**TEAM, "needs_activation": True}
    assert "activation_url" in errors_of(payload(context=context))["context"]
