"""What imports what: no import circle anywhere in the package.

The graph is read from the source with ``ast`` and counts every import, also the lazy ones inside
functions: a circle that only closes at call time is still a circle between two ideas.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "accident_anticipation_ros"
SOURCES = {PACKAGE: ROOT / PACKAGE, f"{PACKAGE}.training": ROOT / "training"}  # setup.py's package_dir


def find_modules(sources: dict[str, Path]) -> dict[str, Path]:
    """``{dotted module name: file}`` of every ``.py`` under each ``{package: folder}``."""
    modules = {}
    for package, folder in sources.items():
        for path in folder.rglob("*.py"):
            parts = list(path.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join([package, *parts])] = path
    return modules


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The modules of ``modules`` that ``name`` imports anywhere in its file."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in modules)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = name.split(".")[: len(name.split(".")) - node.level + (path.name == "__init__.py")]
                base = ".".join(parent + ([node.module] if node.module else []))
            for alias in node.names:
                if f"{base}.{alias.name}" in modules:
                    found.add(f"{base}.{alias.name}")
                elif base in modules:
                    found.add(base)
    found.discard(name)
    return found


def import_circles(modules: dict[str, Path]) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan), each sorted."""
    graph = {name: sorted(imports_of(name, path, modules)) for name, path in modules.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                circles.append(sorted(group))

    for node in graph:
        if node not in index:
            visit(node)
    return circles


def test_the_package_has_no_import_circle():
    modules = find_modules(SOURCES)
    assert f"{PACKAGE}.runtime.factory" in modules and f"{PACKAGE}.training.trainer" in modules
    assert import_circles(modules) == []


def test_the_interface_knows_no_backend():
    modules = find_modules(SOURCES)
    runtime = f"{PACKAGE}.runtime"
    imported = imports_of(f"{runtime}.backend", modules[f"{runtime}.backend"], modules)
    assert imported <= {f"{PACKAGE}.contract", f"{runtime}.errors"}


def test_a_circle_is_found_also_through_a_lazy_import(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from pkg.b import thing\n")
    (pkg / "b.py").write_text("def thing():\n    from pkg import c\n")
    (pkg / "c.py").write_text("from . import a\n")
    (pkg / "d.py").write_text("import pkg.a\n")
    assert import_circles(find_modules({"pkg": pkg})) == [["pkg.a", "pkg.b", "pkg.c"]]
