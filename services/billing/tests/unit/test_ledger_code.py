"""The ledger is append-only in the code too: nothing under billing/ (nor its migrations after 0003) updates
or deletes a ledger entry. Read from the source, so a future change that does fails here."""
from __future__ import annotations

import ast
import re
from pathlib import Path

BILLING = Path(__file__).resolve().parents[2]
SOURCES = sorted((BILLING / "billing").rglob("*.py"))
MIGRATIONS = sorted((BILLING / "migrations" / "versions").glob("*.py"))
# SQL that changes or removes rows of the ledger table, in any string of the code.
SQL_CHANGE = re.compile(r"\b(update\s+ledger_entries|delete\s+from\s+ledger_entries|truncate\s+(table\s+)?"
                        r"ledger_entries)\b", re.IGNORECASE)


def test_the_scan_sees_the_billing_code():
    names = {p.name for p in SOURCES}
    assert {"ledger.py", "invoices.py", "service.py"} <= names


def _calls(tree: ast.AST) -> list[ast.Call]:
    return [node for node in ast.walk(tree) if isinstance(node, ast.Call)]


def _name(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def test_no_code_updates_or_deletes_a_ledger_entry():
    offences = []
    for path in SOURCES:
        source = path.read_text()
        tree = ast.parse(source)
        for call in _calls(tree):
            func = _name(call.func)
            args = [_name(a) for a in call.args]
            # sqlalchemy's update(LedgerEntry) / delete(LedgerEntry), session.delete(<an entry>)
            if func in ("update", "delete") and "LedgerEntry" in args:
                offences.append(f"{path.name}:{call.lineno} {func}(LedgerEntry)")
            if func == "delete" and isinstance(call.func, ast.Attribute) and any(
                    "entry" in a.lower() for a in args):
                offences.append(f"{path.name}:{call.lineno} session.delete of an entry")
        # attribute assignment on an entry: entry.amount = ... (an ORM update at the next flush)
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign | ast.AugAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and \
                            "entry" in target.value.id.lower():
                        offences.append(f"{path.name}:{node.lineno} assigns {target.value.id}.{target.attr}")
        for match in SQL_CHANGE.finditer(source):
            offences.append(f"{path.name}: SQL {match.group(0)!r}")
    assert offences == []


def test_no_later_migration_changes_ledger_rows_and_0003_installs_the_trigger():
    for path in MIGRATIONS:
        source = path.read_text()
        if path.name.startswith("0003_"):
            assert "BEFORE UPDATE OR DELETE ON ledger_entries" in source
            assert "BEFORE TRUNCATE ON ledger_entries" in source
            continue
        assert not SQL_CHANGE.search(source), path.name
        assert "ledger_entries_immutable" not in source, f"{path.name} touches the ledger's trigger"


def test_the_scan_would_catch_an_update(tmp_path):
    """The rules above on a sample that breaks them: the test can fail."""
    sample = "from sqlalchemy import update\nupdate(LedgerEntry)\nentry.amount = 5\nx = 'DELETE FROM ledger_entries'\n"
    tree = ast.parse(sample)
    assert any(_name(c.func) == "update" and "LedgerEntry" in [_name(a) for a in c.args] for c in _calls(tree))
    assert SQL_CHANGE.search(sample)
