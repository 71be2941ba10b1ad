"""The package's shape: layers that only point down, no import cycle inside ``rapport``, the
GraphQL core imports no capability, and long modules say why they are long.

Every import counts, wherever it stands: at module level, inside a function, or under
``if TYPE_CHECKING:`` (a type-only import is a dependency too; it is how cycles hide).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path

import rapport

ROOT = Path(rapport.__file__).parent
MAX_LINES = 500
# The first line of a module that is allowed past MAX_LINES, followed by the reason.
LONG_MARK = "# Over 500 lines:"

# The GraphQL core (schema, planning, execution) and the capabilities it must not import: they
# reach it only through the kernel the composition root builds (rapport.composition).
GRAPHQL_CORE = (
    "rapport.graphql.contributions",
    "rapport.graphql.executor",
    "rapport.graphql.planner",
    "rapport.graphql.prepared",
    "rapport.graphql.request",
    "rapport.graphql.scalars",
    "rapport.graphql.schema_builder",
    "rapport.graphql.types",
)
# The rest of the GraphQL core: what those modules are built from (no endpoint among them).
GRAPHQL_CORE_HELPERS = (
    "rapport.graphql.arguments",
    "rapport.graphql.entity_index",
    "rapport.graphql.fragments",
    "rapport.graphql.limits",
    "rapport.graphql.operation",
    "rapport.graphql.run",
    "rapport.graphql.sdl",
)
CAPABILITIES = (
    "rapport.audit",
    "rapport.forms",
    "rapport.im",
    "rapport.jobs",
    "rapport.notify",
    "rapport.plugins",
    "rapport.workflow",
    "rapport.composition",
)


# The layers, lowest first. A module may import its own layer and the layers below it, never one
# above. A module belongs to the longest prefix that names it: the audit log and the permission
# rules are below the GraphQL core, while their capability parts (the cron job, the write
# participant, the GraphQL fields, the registration) sit with the capabilities.
# docs/architecture.md shows the same table.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "foundation",
        (
            "rapport",  # the package itself (its __init__), and every module no row names
            "rapport._data",
            "rapport.errors",
            "rapport.naming",
            "rapport.principal",
            "rapport.settings",
            "rapport.telemetry",
        ),
    ),
    ("db", ("rapport.db",)),
    ("metadata/expr", ("rapport.metadata", "rapport.expr")),
    ("sql", ("rapport.sql",)),
    ("records", ("rapport.records",)),
    ("auth/crypto/audit", ("rapport.auth", "rapport.crypto", "rapport.audit", "rapport.ratelimit")),
    ("graphql core", (*GRAPHQL_CORE, *GRAPHQL_CORE_HELPERS)),
    (
        "capabilities",
        (
            "rapport.capability",
            "rapport.audit.capability",
            "rapport.audit.graphql",
            "rapport.audit.held",
            "rapport.audit.participant",
            "rapport.auth.permissions.capability",
            "rapport.forms",
            "rapport.im",
            "rapport.jobs",
            "rapport.notify",
            "rapport.plugins",
            "rapport.workflow",
        ),
    ),
    (
        "app",
        (
            "rapport.__main__",
            "rapport.app",
            "rapport.auth_http",
            "rapport.cli",
            "rapport.composition",
            "rapport.demo",
            "rapport.downloads_http",
            "rapport.graphql",  # the endpoints: http, admin, public, ws, subscriptions, events
            "rapport.runtime",
            "rapport.server",
            "rapport.services",
            "rapport.uvicorn_server",
        ),
    ),
)

# Upward imports that are still there, each with the work that removes it. This is debt, not a
# design: the list may only shrink (an entry that no longer matches fails the test too).
PENDING_UPWARD: Mapping[str, str] = {}


def module_files(root: Path = ROOT) -> dict[str, Path]:
    """Module name -> file, for every module of the package (packages by their __init__)."""
    found: dict[str, Path] = {}
    for path in sorted(root.rglob("*.py")):
        parts = (root.name, *path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def imported_names(module: str, path: Path) -> Iterator[str]:
    """Every dotted name an import statement of the file names, relative ones resolved."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def import_graph(files: Mapping[str, Path]) -> dict[str, set[str]]:
    """Module -> the package's modules it imports (a name resolves to its longest module)."""
    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        targets: set[str] = set()
        for name in imported_names(module, path):
            while name and name not in files:
                name = name.rpartition(".")[0]
            if name and name != module:
                targets.add(name)
        graph[module] = targets
    return graph


def cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """Groups of modules that import each other (strongly connected components of > 1).

    Kosaraju's two passes, iterative: finish order on the graph, then components on its
    reverse in reverse finish order.
    """
    order: list[str] = []
    seen: set[str] = set()
    for start in sorted(graph):
        if start in seen:
            continue
        seen.add(start)
        stack = [(start, iter(sorted(graph[start])))]
        while stack:
            node, targets = stack[-1]
            step = next((t for t in targets if t not in seen), None)
            if step is None:
                stack.pop()
                order.append(node)
            else:
                seen.add(step)
                stack.append((step, iter(sorted(graph[step]))))
    reverse: dict[str, set[str]] = {node: set() for node in graph}
    for node, targets in graph.items():
        for target in targets:
            reverse[target].add(node)
    assigned: set[str] = set()
    groups: list[list[str]] = []
    for start in reversed(order):
        if start in assigned:
            continue
        group, todo = [], [start]
        assigned.add(start)
        while todo:
            node = todo.pop()
            group.append(node)
            for source in reverse[node] - assigned:
                assigned.add(source)
                todo.append(source)
        if len(group) > 1:
            groups.append(sorted(group))
    return sorted(groups)


def _describe(group: list[str], graph: Mapping[str, set[str]]) -> str:
    members = set(group)
    edges = "; ".join(f"{m} -> {', '.join(sorted(graph[m] & members))}" for m in group)
    return f"{len(group)} modules: {edges}"


def layer_of(module: str) -> int:
    """The index in LAYERS of the row whose longest prefix names ``module``."""
    best, length = 0, -1
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > length:
                best, length = index, len(prefix)
    return best


def upward_imports(graph: Mapping[str, set[str]]) -> dict[str, str]:
    """``"importer -> imported"`` -> the two layers' names, for every import that points up."""
    return {
        f"{module} -> {target}": f"{LAYERS[layer_of(module)][0]} -> {LAYERS[layer_of(target)][0]}"
        for module, targets in graph.items()
        for target in targets
        if layer_of(target) > layer_of(module)
    }


def test_imports_only_point_down_the_layers() -> None:
    # given
    graph = import_graph(module_files())

    # when
    upward = upward_imports(graph)

    # then
    new = sorted(
        f"{edge} ({layers})" for edge, layers in upward.items() if edge not in PENDING_UPWARD
    )
    assert not new, (
        "Imports that point up the layers (TYPE_CHECKING and function-level imports count); move "
        "the shared type or protocol down to the lower layer, or pass it in from the composition "
        "root:\n" + "\n".join(new)
    )
    assert not sorted(PENDING_UPWARD.keys() - upward.keys()), "PENDING_UPWARD names fixed imports"


def test_no_module_loads_another_of_rapport_by_name() -> None:
    # importlib.import_module("rapport.x") is an import the graph above cannot see: a hidden
    # dependency, upward or in a cycle. What a lower layer needs from above it is passed in, or
    # declared as an entry point (rapport.metadata.entry_points).
    found = []
    for module, path in module_files().items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        # module-level NAME = "rapport.…" constants, for calls that pass the name
        names = {
            target.id: node.value.value
            for node in tree.body
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
            for target in node.targets
            if isinstance(target, ast.Name)
        }
        for node in ast.walk(tree):
            if not (
                isinstance(node, ast.Call)
                and getattr(node.func, "attr", getattr(node.func, "id", None))
                in ("import_module", "__import__")
                and node.args
            ):
                continue
            arg = node.args[0]
            loaded = arg.value if isinstance(arg, ast.Constant) else None
            if isinstance(arg, ast.Name):
                loaded = names.get(arg.id)
            if isinstance(loaded, str) and loaded.startswith("rapport"):
                found.append(f"{module}: loads {loaded!r}")
    assert not found, "\n".join(found)


def test_every_package_of_rapport_is_placed_in_a_layer() -> None:
    # given: the packages (directories) of rapport, which the table must name or sit under
    packages = {m for m, p in module_files().items() if p.name == "__init__.py"}

    # when
    unplaced = sorted(m for m in packages if m != "rapport" and layer_of(m) == 0)

    # then
    assert not unplaced, "Packages of rapport no row of LAYERS names: " + ", ".join(unplaced)


def test_the_layer_check_finds_a_type_checking_import_that_points_up(tmp_path: Path) -> None:
    # given: records imports auth only for type checking
    package = tmp_path / "rapport"
    (package / "records").mkdir(parents=True)
    (package / "auth").mkdir()
    for init in (package, package / "records", package / "auth"):
        (init / "__init__.py").write_text("")
    (package / "auth" / "principal.py").write_text("P = 1\n")
    (package / "records" / "writer.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from rapport.auth.principal import P\n"
    )

    # when
    found = upward_imports(import_graph(module_files(package)))

    # then
    assert found == {
        "rapport.records.writer -> rapport.auth.principal": "records -> auth/crypto/audit"
    }


def test_no_module_of_rapport_takes_part_in_an_import_cycle() -> None:
    # given
    graph = import_graph(module_files())

    # when
    found = cycles(graph)

    # then
    assert not found, (
        "Import cycles inside rapport (TYPE_CHECKING and function-level imports count); move "
        "the shared part into a module below both, or pass it in from the composition root:\n"
        + "\n".join(_describe(group, graph) for group in found)
    )


def test_the_graphql_core_imports_no_capability() -> None:
    # given
    graph = import_graph(module_files())

    # when
    upward = sorted(
        f"{module} -> {target}"
        for module, targets in graph.items()
        if module.startswith(GRAPHQL_CORE)
        for target in targets
        if target.startswith(CAPABILITIES)
    )

    # then
    assert not upward, (
        "The GraphQL core imports capabilities; register them in their Capability and let "
        "rapport.composition hand them down instead:\n" + "\n".join(upward)
    )


def test_modules_over_500_lines_say_why_at_their_top() -> None:
    # given
    files = module_files()

    # when
    unexplained = sorted(
        f"{path.relative_to(ROOT.parent)}: {lines} lines"
        for path in files.values()
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
        and not path.read_text(encoding="utf-8").startswith(LONG_MARK)
    )

    # then
    assert not unexplained, (
        f"Modules over {MAX_LINES} lines: split them along a seam you can name, or start the "
        f"file with '{LONG_MARK} <why>':\n" + "\n".join(unexplained)
    )


def test_the_checker_finds_a_cycle_through_a_type_checking_import(tmp_path: Path) -> None:
    # given: a imports b at run time, b imports a only for type checking
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from pkg.b import B\n")
    (package / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import a\n"
    )
    (package / "c.py").write_text("from . import a\n")

    # when
    found = cycles(import_graph(module_files(package)))

    # then
    assert found == [["pkg.a", "pkg.b"]]


def test_the_checker_resolves_relative_imports_inside_functions(tmp_path: Path) -> None:
    # given: the package re-exports x; x imports its sibling y relatively, y imports x back
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("from pkg.x import X\n")
    (package / "x.py").write_text("def f():\n    from .y import Y\n")
    (package / "y.py").write_text("from .x import f\n")

    # when
    found = cycles(import_graph(module_files(package)))

    # then
    assert found == [["pkg.x", "pkg.y"]]
