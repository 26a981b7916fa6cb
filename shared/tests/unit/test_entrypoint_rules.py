"""Entrypoint modules stay thin: no service.py reaches into the session or commits (issue 8, item 3).

A service.py may hand `self.db.session` to domain code as an argument (that is how a domain
function gets the call's transaction) and nothing else: lookups, flushes and queries live in the
domain modules, and only shared.entrypoints (`@write`, `@idempotent`, event handlers) commits or
rolls back, so no entrypoint can commit half a change or skip the once-per-call record.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def entrypoint_modules(root: Path) -> list[Path]:
    """Every service's service.py, and the base class every service inherits entrypoints from."""
    found = [p for p in root.glob("services/*/*/service.py") if not p.parent.name.endswith(".egg-info")]
    return sorted(found) + [p for p in [root / "shared/shared/service.py"] if p.exists()]


def _is_self_db_session(node: ast.AST) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == "session"
            and isinstance(node.value, ast.Attribute) and node.value.attr == "db"
            and isinstance(node.value.value, ast.Name) and node.value.value.id == "self")


def breaches(source: str) -> list[str]:
    """`line: what` for each use of the session other than as an argument, and each commit or rollback."""
    tree = ast.parse(source)
    arguments = {id(arg) for call in ast.walk(tree) if isinstance(call, ast.Call)
                 for arg in [*call.args, *(keyword.value for keyword in call.keywords)]}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ("commit", "rollback"):
            found.append(f"{node.lineno}: {ast.unparse(node)} (only shared.entrypoints commits or rolls back)")
        elif _is_self_db_session(node) and id(node) not in arguments:
            found.append(f"{node.lineno}: self.db.session used, not passed (session work belongs in the domain)")
    return sorted(found, key=lambda line: int(line.split(":")[0]))


def breaches_under(root: Path) -> dict[str, list[str]]:
    return {str(path.relative_to(root)): found for path in entrypoint_modules(root)
            if (found := breaches(path.read_text(encoding="utf-8")))}


@pytest.mark.parametrize("code", [
    "self.db.session.get(Thread, thread_id)",
    "self.db.session.execute(select(Thread))",
    "self.db.session.flush()",
    "self.db.session.add(thread)",
    "session = self.db.session",  # an alias would hide every use after it
    "with self.db.session.begin(): pass",
    "self.db.commit()",
    "self.db.rollback()",
    "session.commit()",
    "finish = self.db.commit",
])
def test_the_checker_finds_each_way_of_touching_the_session_or_committing(code):
    source = f"class S:\n    def entrypoint(self):\n        {code}\n"
    assert len(breaches(source)) == 1 and breaches(source)[0].startswith("3: ")


def test_the_checker_lets_an_entrypoint_pass_the_session_to_domain_code():
    source = (
        "class S:\n"
        "    def entrypoint(self, payload):\n"
        "        thread = threads.start(self.db.session, payload['subject'])\n"
        "        folders.roots(session=self.db.session, account_id=1)\n"
        "        self.db.emit(THREAD_STARTED, {}, firm_id=1)\n"
        "        self.db.on_failure(lambda session: cleanup(session))\n"
        "        self.db.ping()\n"
        "        return thread\n"
    )
    assert breaches(source) == []


def test_the_walk_finds_a_service_module_that_breaks_the_rule(tmp_path):
    broken = tmp_path / "services/walk/walk/service.py"
    broken.parent.mkdir(parents=True)
    broken.write_text("class WalkService:\n"
                      "    def go(self):\n"
                      "        self.db.session.flush()\n"
                      "        self.db.commit()\n")
    (tmp_path / "services/walk/walk/domain.py").write_text("def f(session):\n    session.commit()\n")  # not service.py
    assert breaches_under(tmp_path) == {"services/walk/walk/service.py": [
        "3: self.db.session used, not passed (session work belongs in the domain)",
        "4: self.db.commit (only shared.entrypoints commits or rolls back)"]}


def test_the_walk_covers_every_service_and_the_base_class():
    names = {str(path.relative_to(ROOT)) for path in entrypoint_modules(ROOT)}
    assert {"services/crm/crm/service.py", "services/chats/chats/service.py", "shared/shared/service.py"} <= names


def test_no_service_module_touches_the_session_or_commits():
    found = breaches_under(ROOT)
    assert not found, "\n".join(f"{path}:{line}" for path, lines in found.items() for line in lines)
