"""Unit tests: the real app over the fake RPC client (../conftest.py); no broker, database or S3."""
from __future__ import annotations

import falcon.testing
import pytest

from gateway.app import create_app
from shared.config import Settings


@pytest.fixture
def client(rpc) -> falcon.testing.TestClient:
    # The object store is built but never reached: no test here moves file bytes.
    return falcon.testing.TestClient(create_app(rpc, Settings(max_json_body=1024)))
