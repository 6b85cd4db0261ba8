"""The package's shape: imports run one way through the layers, no module imports itself round a cycle, no module
grows past 500 lines.

The import graph is read from the source with ``ast`` (imports inside functions count too), so the test needs
no optional extra and catches an import however late it runs.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "vision_models"
MAX_LINES = 500

#: The layers, bottom first: a module may import its own layer and those below it, never one above.
LAYERS = (
    ("vision_models.text", "vision_models.settings", "vision_models.common", "vision_models.notices"),
    ("vision_models.http",),
    ("vision_models.stores",),
    ("vision_models.catalog",),
    ("vision_models.pricing",),
    ("vision_models.trials",),
    (
        "vision_models.present",
        "vision_models.server",
        "vision_models.cli",
        "vision_models.cli_reference",
        "vision_models",
    ),
)

#: Imports that go up a layer on purpose, each run only when called (inside a function): (importer, imported) -> why.
LAZY_UPWARD = {
    ("vision_models.catalog.api", "vision_models.present.payload"):
        "CatalogResult.to_api_payload(), public API: the seed's JSON for a fetched catalog",
}  # fmt: skip

#: Modules still over MAX_LINES -> why (each one a split still to do). Empty: keep it so.
TOO_LONG: dict[str, str] = {}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_shim(source: str) -> bool:
    """An old flat path kept for one release: it only warns and hands on the new module's names."""
    return "the old name goes in the next release" in source and "DeprecationWarning" in source


def read_package(root: Path = PACKAGE) -> dict[str, tuple[Path, str]]:
    """Every module of the package (nothing under data/ is one): name -> (path, source)."""
    files = (p for p in sorted(root.rglob("*.py")) if "data" not in p.relative_to(root).parts)
    return {module_name(p): (p, p.read_text()) for p in files}


def imports_of(name: str, path: Path, source: str, modules: Iterable[str]) -> dict[str, bool]:
    """The package's modules ``name`` imports -> whether at module level (False: only inside a function)."""
    known = set(modules)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: dict[str, bool] = {}

    def visit(node: ast.AST, top: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if _type_checking_only(child):
                continue  # never runs: annotations only
            inner = top and not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            targets: list[str] = []
            if isinstance(child, ast.Import):
                targets = [a.name for a in child.names]
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    parts = package.split(".")
                    base = ".".join(parts[: len(parts) - child.level + 1] + ([child.module] if child.module else []))
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in child.names]
            for target in targets:
                while target and target not in known:  # `import vision_models.x.y` names vision_models.x.y
                    target = target.rpartition(".")[0]
                if target and target != name:
                    found[target] = found.get(target, False) or inner
            visit(child, inner)

    visit(ast.parse(source), True)
    return found


def _type_checking_only(node: ast.AST) -> bool:
    """An ``if TYPE_CHECKING:`` block."""
    test = getattr(node, "test", None) if isinstance(node, ast.If) else None
    return isinstance(test, ast.Name) and test.id == "TYPE_CHECKING"


def import_graph(package: Mapping[str, tuple[Path, str]]) -> dict[str, dict[str, bool]]:
    return {name: imports_of(name, path, source, package) for name, (path, source) in package.items()}


def layer_of(module: str) -> int:
    """The index of the layer ``module`` is in (the longest matching prefix decides)."""
    best, depth = len(LAYERS) - 1, -1
    for index, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and prefix.count(".") > depth:
                best, depth = index, prefix.count(".")
    return best


def find_cycles(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan), each sorted: every one is a cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return sorted(groups)


def upward_edges(graph: Mapping[str, Iterable[str]], allowed: Iterable[tuple[str, str]] = ()) -> list[tuple[str, str]]:
    """Imports from a lower layer into a higher one, but those ``allowed``."""
    ok = set(allowed)
    edges = ((a, b) for a, targets in graph.items() for b in targets)
    return sorted((a, b) for a, b in edges if layer_of(a) < layer_of(b) and (a, b) not in ok)


@pytest.fixture(scope="module")
def package():
    return read_package()


@pytest.fixture(scope="module")
def graph(package):
    shims = {name for name, (_, source) in package.items() if is_shim(source)}
    full = import_graph(package)
    return {name: targets for name, targets in full.items() if name not in shims}, shims


def test_the_package_has_no_import_cycle(graph):
    edges, _ = graph
    assert find_cycles(edges) == []


def test_imports_never_go_up_a_layer(graph):
    edges, _ = graph
    assert upward_edges(edges, LAZY_UPWARD) == []


def test_the_allowed_upward_imports_are_still_there_and_only_inside_functions(graph):
    edges, _ = graph
    for importer, imported in LAZY_UPWARD:
        assert edges[importer].get(imported) is False, f"{importer} -> {imported} must stay inside a function"


def test_no_module_of_the_package_imports_an_old_path(graph):
    edges, shims = graph
    assert shims, "the old flat paths are kept for one release"
    assert sorted((a, b) for a, targets in edges.items() for b in targets if b in shims) == []


def test_no_module_is_over_500_lines(package):
    lengths = {name: len(source.splitlines()) for name, (_, source) in package.items()}
    too_long = sorted(name for name, count in lengths.items() if count > MAX_LINES and name not in TOO_LONG)
    assert too_long == [], {name: lengths[name] for name in too_long}
    still_listed = sorted(name for name in TOO_LONG if lengths.get(name, 0) <= MAX_LINES)
    assert still_listed == [], "split since: take them off TOO_LONG"


#: Lines of logic (distinct source lines holding a statement or expression, the docstring left out) a function may
#: have before its docstring must say why it is long, in a sentence that starts "Long because".
MAX_FUNCTION_LINES = 60
LONG_REASON = "Long because"


def logic_lines(function: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Distinct source lines of a function's body that hold code (its docstring and blank lines not counted)."""
    body = function.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    return len({node.lineno for statement in body for node in ast.walk(statement) if hasattr(node, "lineno")})


def long_functions(source: str) -> list[tuple[str, int]]:
    """The functions of ``source`` over :data:`MAX_FUNCTION_LINES` whose docstring gives no reason."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            count = logic_lines(node)
            if count > MAX_FUNCTION_LINES and LONG_REASON not in (ast.get_docstring(node) or ""):
                found.append((node.name, count))
    return found


def test_a_long_function_says_why_in_its_docstring(package):
    found = {name: long for name, (_, source) in package.items() if (long := long_functions(source))}
    assert found == {}, f"over {MAX_FUNCTION_LINES} lines of logic without '{LONG_REASON} ...' in the docstring"


def test_the_function_length_check_counts_logic_not_the_docstring():
    code = "\n".join(f"    x{i} = {i}" for i in range(61))
    plain = f'def f():\n    """Doc\n\n    on lines.\n    """\n{code}\n'
    assert long_functions(plain) == [("f", 61)]
    assert long_functions(plain.replace("on lines.", "Long because it is a table.")) == []
    assert long_functions(plain.replace("    x60 = 60\n", "")) == []  # 60 lines: within the limit


#: Pricing is pure: what its modules may reach in the package besides pricing itself (pure catalog helpers only).
PURE_FOR_PRICING = (
    "vision_models.catalog.feasibility",
    "vision_models.catalog.frame",
    "vision_models.catalog.kinds",
    "vision_models.catalog.vision",
    "vision_models.common",
    "vision_models.text",
)
#: Modules outside the package that do I/O (files, network, databases, processes, the environment).
IO_MODULES = (
    "os", "io", "pathlib", "sqlite3", "socket", "ssl", "shutil", "tempfile", "subprocess", "urllib", "http",
    "requests", "requests_cache", "urllib3", "glob", "gzip", "json", "pickle", "concurrent", "threading", "asyncio",
)  # fmt: skip


def outside_imports(source: str) -> set[str]:
    """The top-level names of what ``source`` imports from outside the package (also inside functions)."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            found.add(node.module.split(".")[0])
    return found - {"vision_models"}


def reachable(graph: Mapping[str, Iterable[str]], start: Iterable[str]) -> set[str]:
    """Every module ``start`` imports, directly or through others (imports inside functions count)."""
    seen: set[str] = set()
    todo = list(start)
    while todo:
        for target in graph.get(todo.pop(), ()):
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def test_pricing_imports_nothing_that_does_io(graph, package):
    edges, _ = graph
    pricing = [name for name in package if layer_of(name) == layer_of("vision_models.pricing")]
    reached = reachable(edges, pricing) - set(pricing)
    assert sorted(reached - set(PURE_FOR_PRICING)) == []  # no http, stores, catalog.api / endpoints / source, ...
    doing_io = {name: sorted(outside_imports(package[name][1]) & set(IO_MODULES)) for name in [*pricing, *reached]}
    assert {name: found for name, found in doing_io.items() if found} == {}


def test_the_purity_check_sees_io_and_the_stores():
    assert outside_imports("def f():\n    import sqlite3\n    from requests_cache import CachedSession\n") == {
        "sqlite3",
        "requests_cache",
    }
    graph = {"vision_models.pricing.x": {"vision_models.catalog.frame"}, "vision_models.catalog.frame": {"s"}}
    assert reachable(graph, ["vision_models.pricing.x"]) == {"vision_models.catalog.frame", "s"}


def test_the_checks_fail_on_a_cycle_and_on_an_upward_import():
    a, b, c = "vision_models.catalog.a", "vision_models.catalog.b", "vision_models.catalog.c"
    cyclic = {a: {b}, b: {c}, c: {a}, "vision_models.text": set()}
    assert find_cycles(cyclic) == [[a, b, c]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []
    low, high = "vision_models.http.client", "vision_models.catalog.source"
    upward = {low: {high}, "vision_models.cli": {"vision_models.text"}}
    assert upward_edges(upward) == [(low, high)]
    assert upward_edges(upward, [(low, high)]) == []


def test_the_graph_is_read_from_the_source_lazy_imports_included(tmp_path):
    root = tmp_path / "vision_models"
    (root / "http").mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (root / "text.py").write_text("")
    (root / "http" / "__init__.py").write_text("")
    (root / "http" / "client.py").write_text(
        "from typing import TYPE_CHECKING\nfrom ..text import x\n\nif TYPE_CHECKING:\n    from ..present import y\n\n"
        "def f():\n    from ..cli import main\n"
    )
    (root / "present.py").write_text("")
    (root / "cli.py").write_text("from .http import client\nimport vision_models.text\n")
    package = {_name(root, p): (p, p.read_text()) for p in sorted(root.rglob("*.py"))}
    graph = import_graph(package)
    assert graph["vision_models.http.client"] == {"vision_models.text": True, "vision_models.cli": False}
    assert graph["vision_models.cli"] == {"vision_models.http.client": True, "vision_models.text": True}
    assert upward_edges(graph) == [("vision_models.http.client", "vision_models.cli")]


def _name(root: Path, path: Path) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_every_test_module_is_marked_with_the_layer_it_tests():
    import importlib.util

    spec = importlib.util.spec_from_file_location("root_conftest", PACKAGE.parent / "conftest.py")
    assert spec is not None and spec.loader is not None
    root = importlib.util.module_from_spec(spec)  # the repository's conftest.py: the layer of each test module
    spec.loader.exec_module(root)
    here = Path(__file__).parent
    modules = sorted(p.stem for p in here.glob("test_*.py"))
    assert [m for m in modules if m not in root.LAYER] == [], "name the module's layer in conftest.LAYER_OF_MODULE"
    assert sorted(m for m in root.LAYER if m not in modules) == [], "a module named in conftest.py no longer exists"
    assert set(root.LAYER_OF_MODULE) - {"base", "project"} <= {p.name for p in PACKAGE.iterdir() if p.is_dir()}
