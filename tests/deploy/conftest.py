"""Fixtures for the deployment tests; the helpers are in deploy_support.py beside this file."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from deploy_support import COMPOSE_FILE, KUSTOMIZATIONS, kustomize_build  # noqa: E402


@pytest.fixture(scope="session")
def compose() -> dict:
    """docker-compose.yml as Compose sees it before interpolation: anchors and `<<` merged."""
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def rendered() -> dict[str, list[dict]]:
    """{"base": [...], "production": [...]}: every kustomization rendered once per session."""
    return {name: kustomize_build(path) for name, path in KUSTOMIZATIONS.items()}
