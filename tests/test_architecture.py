"""Architecture rules (docs/architecture.md), checked on the source with ``ast``, nothing imported.

* No import cycle among curate's modules. Every import counts, also one inside a function or under
  ``if TYPE_CHECKING``: a lazy import that dodges a cycle at run time still ties the modules together.
  An import of ``a.b.c`` is an edge to the module ``a.b.c``, not to its parent packages; ``from a.b
  import c`` is an edge to ``a.b`` (``from a.b.c import x`` names the module itself).
* No module over 800 lines: split by responsibility before that.
* Engines stay in ``curate/runners/``: nothing else imports ``ray`` or ``apache_beam`` or names a runner
  class; the rest of the code gets a runner from ``curate.runners.make_runner`` / ``runner_for``.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "curate"
MAX_LINES = 800
ENGINES = ("ray", "apache_beam")
RUNNER_CLASSES = ("RayRunner", "BeamRunner", "LocalRunner")


def modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def imported_names(name: str, path: Path, tree: ast.Module) -> list[tuple[str, int]]:
    """Every module name an import statement of ``tree`` refers to (absolute), with its line."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")
                if path.name != "__init__.py":
                    base = base[:-1]
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            out.append((module, node.lineno))
            if not node.module or node.level:  # ``from . import x``: x may be a module
                out += [(f"{module}.{alias.name}", node.lineno) for alias in node.names]
    return out


def import_graph() -> dict[str, set[str]]:
    mods = modules()
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for name, path in mods.items():
        for target, _ in imported_names(name, path, ast.parse(path.read_text(encoding="utf-8"))):
            if target in mods and target != name:
                graph[name].add(target)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` (its modules in order, the first repeated at the end), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_no_module_over_800_lines():
    long = {name: n for name, path in modules().items()
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines (split them): {long}"


def test_engines_only_in_runners():
    runners = PACKAGE / "runners"
    offences = []
    for name, path in modules().items():
        if path.is_relative_to(runners):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for target, line in imported_names(name, path, tree):
            if target.split(".")[0] in ENGINES:
                offences.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {target}")
        for node in ast.walk(tree):
            named = (node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute)
                     else node.name if isinstance(node, ast.alias) else None)
            if named in RUNNER_CLASSES or (isinstance(node, ast.alias) and node.asname in RUNNER_CLASSES):
                offences.append(f"{path.relative_to(PACKAGE.parent)}:{getattr(node, 'lineno', '?')} names {named}")
    assert not offences, "engine code outside curate/runners/:\n" + "\n".join(offences)
