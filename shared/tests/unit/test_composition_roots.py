"""Settings are read from the environment only at composition roots (issue 8, item 4).

A module that calls `load_settings()` (or builds `Settings()`) while running reads the environment
behind its container's back: a test's settings or a container's config would not reach it. Every
other piece of code gets its `Settings` from its root: `self.settings` / `settings_of(container)` in
a service, the app factory's argument in the gateway.
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

# (file, function) -> why it is a composition root. "<module>": at import, in a module that is one.
ROOTS = {
    ("shared/shared/config.py", "load_settings"): "the reader itself: Settings() from the environment",
    ("shared/shared/config.py", "settings_of"): "a nameko container's settings, once per container",
    ("services/gateway/gateway/wsgi.py", "<module>"): "the gateway process (gunicorn imports it)",
    ("services/gateway/gunicorn.conf.py", "<module>"): "gunicorn's own configuration (bind address)",
    ("services/gateway/gateway/stream/__main__.py", "main"): "the stream process (`python -m gateway.stream`)",
    ("services/gateway/gateway/app.py", "create_app"): "the gateway's app factory, when given no settings",
    ("shared/shared/migrations.py", "upgrade"): "`python -m shared.migrations` (and the images' `migrate`)",
    ("shared/shared/migrations.py", "run_env"): "alembic's env.py run by hand (`alembic revision`)",
    ("deploy/healthcheck.py", "check_rpc"): "the container health probe, a command of its own",
    ("shared/shared/dead_letters.py", "main"): "`python -m shared.dead_letters` (list and replay dead letters)",
}
READERS = ("load_settings", "Settings")


def scanned_files(root: Path) -> list[Path]:
    """What runs in production: every service's and shared's code and the deploy scripts; no tests."""
    files = [*root.glob("services/*/**/*.py"), *root.glob("shared/shared/**/*.py"), *root.glob("deploy/**/*.py")]
    return sorted(p for p in files if not {"tests", "migrations"} & set(p.relative_to(root).parts)
                  and not any(part.endswith(".egg-info") for part in p.parts))


def settings_reads(source: str) -> list[tuple[int, str]]:
    """(line, enclosing function as Class.method or <module>) of each call of load_settings() or Settings()."""
    found: list[tuple[int, str]] = []

    def visit(node: ast.AST, scope: list[str]) -> None:
        for child in ast.iter_child_nodes(node):
            inner = scope
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                inner = [*scope, child.name]
            if isinstance(child, ast.Call):
                func = child.func
                name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
                if name in READERS:
                    found.append((child.lineno, ".".join(scope) or "<module>"))
            visit(child, inner)

    visit(ast.parse(source), [])
    return found


def reads_outside_roots(root: Path) -> list[str]:
    outside = []
    for path in scanned_files(root):
        relative = str(path.relative_to(root))
        for line, where in settings_reads(path.read_text(encoding="utf-8")):
            if (relative, where) not in ROOTS:
                outside.append(f"{relative}:{line} in {where}")
    return outside


def test_the_checker_names_the_function_of_each_read():
    source = ("from shared.config import Settings, load_settings\n"
              "settings = load_settings()\n"
              "class Sender:\n"
              "    def url(self):\n"
              "        return config.load_settings().base_url\n"
              "def fresh():\n"
              "    return Settings(http_port=1)\n"
              "def other():\n"
              "    return PortalSettings(firm_id=1)\n")
    assert settings_reads(source) == [(2, "<module>"), (5, "Sender.url"), (7, "fresh")]


def test_the_walk_finds_a_read_outside_the_roots(tmp_path):
    module = tmp_path / "services/walk/walk/service.py"
    module.parent.mkdir(parents=True)
    module.write_text("def link(token):\n    return f'{load_settings().base_url}/p/{token}'\n")
    (tmp_path / "services/walk/tests").mkdir()
    (tmp_path / "services/walk/tests/test_x.py").write_text("load_settings()\n")  # tests are their own roots
    assert reads_outside_roots(tmp_path) == ["services/walk/walk/service.py:2 in link"]


def test_every_listed_root_exists():
    for path, _ in ROOTS:
        assert (ROOT / path).is_file(), path


def test_settings_are_read_only_at_composition_roots():
    outside = reads_outside_roots(ROOT)
    assert not outside, "load_settings()/Settings() outside a composition root:\n" + "\n".join(outside)
