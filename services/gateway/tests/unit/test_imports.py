"""The gateway knows the services only by their published contracts (shared.contracts): it
imports no service package and depends on none, so its image carries none of their code."""
from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from shared.config import SERVICES

GATEWAY = Path(__file__).resolve().parents[2]
SERVICE_PACKAGES = set(SERVICES) | ({p.parent.name for p in GATEWAY.parent.glob("*/pyproject.toml")} - {"gateway"})

# The composition root as gunicorn imports it, then every other gateway module.
PROBE = """
import importlib, pkgutil, sys
import gateway.wsgi
for module in pkgutil.walk_packages(gateway.__path__, "gateway."):
    importlib.import_module(module.name)
print(" ".join(sorted({name.partition(".")[0] for name in sys.modules})))
"""


def test_importing_the_gateway_imports_no_service_package():
    # gateway.wsgi builds the app from the environment; its RPC client connects on the first call only.
    env = {**os.environ, "PORTA_AMQP_URI": "pyamqp://guest:guest@127.0.0.1:1/"}
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, timeout=60,
                            check=False)
    assert result.returncode == 0, result.stderr
    imported = set(result.stdout.split())
    assert "gateway" in imported and "shared" in imported
    assert not imported & SERVICE_PACKAGES, f"the gateway imported {sorted(imported & SERVICE_PACKAGES)}"


def imported_packages(path: Path) -> set[str]:
    packages = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            packages |= {alias.name.partition(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            packages.add(node.module.partition(".")[0])
    return packages


def test_no_gateway_source_names_a_service_package():
    """Also the imports no test run reaches: inside functions, in tests, in rpc_echo_service.py."""
    offenders = {
        path.relative_to(GATEWAY).as_posix(): sorted(found)
        for path in GATEWAY.rglob("*.py")
        if ".egg-info" not in path.as_posix() and (found := imported_packages(path) & SERVICE_PACKAGES)
    }
    assert not offenders, offenders


def test_the_gateway_package_depends_on_no_service_package():
    project = tomllib.loads((GATEWAY / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    names = {re.match(r"[\w.-]+", dep).group(0) for dep in project["dependencies"]}
    assert "porta-shared" in names
    assert not names & {f"porta-{service}" for service in SERVICE_PACKAGES}
