"""The layering contract (pyproject.toml, docs/architecture.md) and the import graph of src/:
no module imports another that (directly or through others) imports it back. Imports inside
functions count, as they do for import-linter: a circle through a function is a circle."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"


def modules(src: Path) -> dict[str, Path]:
    found = {}
    for path in src.rglob("*.py"):
        parts = list(path.relative_to(src).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def import_graph(src: Path) -> dict[str, set[str]]:
    """Module -> the modules of src/ it imports, anywhere in its file (functions included)."""
    known = modules(src)

    def resolve(name: str) -> str | None:
        while name and name not in known:  # `from a.b import c`: a.b.c if a module, else a.b
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for module, path in known.items():
        package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets.update(resolve(alias.name) for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parent = package[: len(package) - (node.level - 1)]
                    base = ".".join([*parent, *([node.module] if node.module else [])])
                targets.update(resolve(f"{base}.{alias.name}") for alias in node.names)
        graph[module] = {t for t in targets if t and t != module}
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_circles_in_src():
    graph = import_graph(SRC)
    assert len(graph) > 100  # the walk found the project, not an empty folder
    assert circles(graph) == []


def test_the_circle_finder_sees_a_circle_through_a_function(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from . import b\n")
    (package / "b.py").write_text("def f():\n    from pkg.c import g\n")
    (package / "c.py").write_text("import pkg.a\n")
    (package / "d.py").write_text("from .a import *\n")
    assert circles(import_graph(tmp_path)) == [["pkg.a", "pkg.b", "pkg.c"]]


def lint_imports(cwd: Path) -> subprocess.CompletedProcess:
    executable = Path(sys.executable).with_name("lint-imports")
    return subprocess.run(
        [str(executable), "--no-cache"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(cwd / "src")},
    )


def test_the_layering_contract_is_kept():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 kept, 0 broken" in result.stdout


def lint_a_copy_with(tmp_path: Path, module: str, line: str) -> subprocess.CompletedProcess:
    """lint-imports on a copy of src/ where `module` (a path under src/civility) also has a
    function doing `line`."""
    shutil.copytree(SRC, tmp_path / "src", ignore=shutil.ignore_patterns("*.egg-info", "models"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    path = tmp_path / "src" / "civility" / module
    path.write_text(path.read_text() + f"\n\ndef _added():\n    {line}\n")
    result = lint_imports(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    return result


def test_the_contract_refuses_an_app_imported_by_the_celery_app(tmp_path):
    """workers.py importing the comments app again (the old circle): the layers and the
    acyclic contracts are both broken."""
    result = lint_a_copy_with(
        tmp_path, "web/workers.py", "from civility.web.comments import assessing"
    )
    assert "engine < web infrastructure < web apps < site BROKEN" in result.stdout
    assert "civility.web.workers -> civility.web.comments.assessing" in result.stdout
    assert (
        "circles among sibling packages and modules, anywhere in civility BROKEN" in result.stdout
    )
    assert "- .workers -> .comments (1 import)" in result.stdout


def test_the_engine_may_not_import_the_web_service(tmp_path):
    result = lint_a_copy_with(tmp_path, "engine/scoring.py", "from django.conf import settings")
    assert "know nothing of the web service or Django BROKEN" in result.stdout
