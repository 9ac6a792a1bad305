"""The plan of the house (issue #15): three pure stages under one app layer, no import circles.

    narratives/  the app layer (commands, Datasette plugin, report): may import crawler, clustering, db
    crawler/     fetching, extraction, outlets, runs, health, schedule, scale-out: imports only db
    clustering/  embedding, events, narratives, watches, reuse, spread: imports only db
    db/          schema, migrations, store, queries: imports none of the others
    bench/       benchmarks: may import anything, but its modules have no circles either

Read from the source with `ast`, so every import counts: at module level, inside functions
(the lazy imports that keep `--help` fast), and `importlib.import_module("x")` / `__import__("x")`
with a literal name. `[..., "-m", "x", ...]` (module x started as a child process) counts for the
direction too (a stage never starts the app), not for circles: nothing is loaded into the module
that starts it (the app starts itself: `narratives worker`, `crawl --process`, `schedule`). A
failure names the file and line of each import at fault.
"""
from __future__ import annotations

import ast
import tomllib
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("crawler", "clustering", "db", "narratives", "bench")
# what each package may import (besides itself); every other project package is off limits
ALLOWED = {
    "db": set(),
    "crawler": {"db"},
    "clustering": {"db"},
    "narratives": {"crawler", "clustering", "db"},
    "bench": {"crawler", "clustering", "db", "narratives", "demo"},
}
PROJECT = set(PACKAGES) | {"demo", "tests"}  # top-level names that are this project's code
INSTALLED = ("crawler", "clustering", "db", "narratives")  # what pyproject.toml ships


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            found[module_name(path)] = path
    return found


def _literal(node) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def imports_of(path: Path, name: str) -> list[tuple[str, int, bool]]:
    """(dotted name imported, line, whether it is an import rather than a `-m` child process)
    for every import in the file, wherever it stands."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(alias.name, node.lineno, True) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            # `from pkg import name`: the submodule pkg.name when there is one, else pkg (see import_graph)
            out += [(f"{target}.{alias.name}", node.lineno, True) for alias in node.names]
        elif isinstance(node, ast.Call):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if called in ("import_module", "__import__") and node.args and _literal(node.args[0]):
                out.append((_literal(node.args[0]), node.lineno, True))
        elif isinstance(node, (ast.List, ast.Tuple)):
            items = [_literal(e) for e in node.elts]
            for flag, target in zip(items, items[1:]):
                if flag == "-m" and target:
                    out.append((target, node.lineno, False))
    return out


def import_graph(child_processes: bool = True) -> dict[str, dict[str, list[int]]]:
    """module -> {imported project module -> lines}; an `x.y.name` import resolves to the longest
    known module (`from pkg import submodule` is an edge to the submodule, not the package).
    `child_processes`: count `-m` child processes as edges too."""
    modules = project_modules()
    graph: dict[str, dict[str, list[int]]] = {}
    for name, path in modules.items():
        edges: dict[str, list[int]] = defaultdict(list)
        for target, line, imported in imports_of(path, name):
            if target.split(".")[0] not in PROJECT or not (imported or child_processes):
                continue
            parts = target.split(".")
            known = next((".".join(parts[:i]) for i in range(len(parts), 0, -1) if ".".join(parts[:i]) in modules),
                         None)
            resolved = known or target  # demo.*, tests.*, or a module that no longer exists
            if resolved != name and line not in edges[resolved]:
                edges[resolved].append(line)
        graph[name] = dict(edges)
    return graph


def cycles(graph: dict[str, dict[str, list[int]]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, {}))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next((c for c in children if c in graph), None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
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
    return sorted(found)


def where(module: str) -> str:
    return str(project_modules()[module].relative_to(REPO))


def test_no_import_against_the_direction():
    wrong = []
    for module, edges in sorted(import_graph().items()):
        package = module.split(".")[0]
        for target, lines in sorted(edges.items()):
            other = target.split(".")[0]
            if other != package and other not in ALLOWED[package]:
                wrong.append(f"{where(module)}:{','.join(map(str, sorted(lines)))}: {package} imports {target}"
                             f" ({package} may import only {', '.join(sorted(ALLOWED[package])) or 'itself'})")
    assert not wrong, "imports against the direction:\n" + "\n".join(wrong)


def test_no_import_circles():
    graph = import_graph(child_processes=False)
    report = []
    for component in cycles(graph):
        report.append("circle: " + " <-> ".join(component))
        for module in component:
            for target in component:
                if target in graph[module]:
                    lines = ",".join(map(str, sorted(graph[module][target])))
                    report.append(f"  {where(module)}:{lines} imports {target}")
    assert not report, "import circles:\n" + "\n".join(report)


def test_pyproject_ships_exactly_the_four_packages():
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    shipped = set(config["tool"]["setuptools"]["packages"])
    on_disk = {module_name(p.parent) for top in INSTALLED for p in (REPO / top).rglob("__init__.py")}
    assert shipped == on_disk, f"pyproject.toml lists {sorted(shipped)}; the packages are {sorted(on_disk)}"


def test_the_guard_sees_lazy_and_child_process_imports(tmp_path):
    """The parser counts imports inside functions, import_module and `-m` child processes."""
    src = tmp_path / "m.py"
    src.write_text("def f():\n    from db import store\n    import importlib\n"
                   "    importlib.import_module('clustering.search')\n"
                   "    return [sys.executable, '-m', 'narratives.cli', 'run']\n")
    got = {name for name, _, _ in imports_of(src, "crawler.m")}
    assert {"db.store", "clustering.search", "narratives.cli"} <= got
    graph = {"a": {"b": [1]}, "b": {"c": [1]}, "c": {"a": [3]}, "d": {"a": [1]}}
    assert cycles(graph) == [["a", "b", "c"]]
