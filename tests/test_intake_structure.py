"""The shape of the intake path (DESIGN "The intake path"): connectors issue no SQL, the core services do not
know the composition root, and routing decisions are written in one place."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERVICES = ("hub/intake", "hub/notices.py", "hub/outbox.py", "hub/routing", "hub/followup.py",
            "hub/client_tasks.py", "hub/directory/service.py")


def imports(path: Path) -> set[str]:
    """Every module ``path`` imports, under TYPE_CHECKING too."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
            out.update(f"{node.module}.{alias.name}" for alias in node.names)
    return out


def files(*places: str) -> list[Path]:
    out: list[Path] = []
    for place in places:
        path = ROOT / place
        out += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return out


def test_no_connector_imports_the_store() -> None:
    offenders = {str(p.relative_to(ROOT)): sorted(m for m in imports(p) if m == "hub.store" or
                                                  m.startswith("hub.store.") or m.startswith("sqlalchemy"))
                 for p in files("connectors")}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_no_core_service_imports_the_composition_root() -> None:
    offenders = [str(p.relative_to(ROOT)) for p in files(*SERVICES) if "hub.core" in imports(p)]
    assert offenders == []


def test_routing_decisions_are_written_in_one_place() -> None:
    writers = [str(p.relative_to(ROOT)) for p in files("hub", "connectors")
               if "RoutingDecision(" in p.read_text("utf-8") and "class RoutingDecision(" not in p.read_text("utf-8")]
    assert writers == ["hub/routing/record.py"]


def test_inbox_errors_become_http_in_one_middleware() -> None:
    catching = [str(p.relative_to(ROOT)) for p in files("hub/web")
                if any(isinstance(node, ast.ExceptHandler) and node.type is not None
                       and "InboxError" in ast.unparse(node.type) or "NotFound" in ast.unparse(node.type)
                       for node in ast.walk(ast.parse(p.read_text("utf-8")))
                       if isinstance(node, ast.ExceptHandler) and node.type is not None)]
    assert catching == ["hub/web/inbox_errors.py"]
