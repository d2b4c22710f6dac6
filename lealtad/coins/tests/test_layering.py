"""The domain packages import each other without circles (issue 11: customers <-> ledger).

Reads every import statement of the lealtad modules, at the top and inside functions (a lazy
import inside a function is how a circle hides), and looks for a cycle among the modules of
the packages that move value."""

import ast
import pathlib

import lealtad

ROOT = pathlib.Path(lealtad.__file__).parent
PACKAGES = ("customers", "ledger", "coins")


def _module_name(path: pathlib.Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _graph() -> dict[str, set[str]]:
    modules = {}
    for package in PACKAGES:
        for path in (ROOT / package).glob("*.py"):
            modules[_module_name(path)] = path
    graph = {}
    for name, path in modules.items():
        targets = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                candidates = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                candidates = [a.name for a in node.names]
            else:
                continue
            targets |= {c for c in candidates if c in modules and c != name}
        graph[name] = targets
    return graph


def _package(module: str) -> str:
    return module.split(".")[1]


def _path(graph, start, goal):
    """A chain of imports from start to goal, or None."""
    seen, todo = {start: None}, [start]
    while todo:
        node = todo.pop()
        if node == goal:
            chain = [node]
            while seen[chain[-1]] is not None:
                chain.append(seen[chain[-1]])
            return chain[::-1]
        for nxt in sorted(graph.get(node, ())):
            if nxt not in seen:
                seen[nxt] = node
                todo.append(nxt)
    return None


def _cross_package_cycle(graph):
    """An import circle that leaves a package and comes back (a package's own lazy imports
    between its modules are its business)."""
    for module in sorted(graph):
        for target in sorted(graph[module]):
            if _package(target) != _package(module) and (back := _path(graph, target, module)):
                return [module, *back]
    return None


def test_no_import_cycle_among_customers_ledger_and_coins():
    graph = _graph()
    assert "lealtad.coins.actions" in graph
    cycle = _cross_package_cycle(graph)
    assert cycle is None, " -> ".join(cycle)


def test_the_cycle_finder_finds_a_cycle():
    graph = {"lealtad.a.x": {"lealtad.b.y"}, "lealtad.b.y": {"lealtad.a.z"}, "lealtad.a.z": set()}
    assert _cross_package_cycle(graph) is None
    graph["lealtad.a.z"] = {"lealtad.a.x"}
    assert _cross_package_cycle(graph) == [
        "lealtad.a.x",
        "lealtad.b.y",
        "lealtad.a.z",
        "lealtad.a.x",
    ]


def test_coins_live_in_the_coins_package_not_in_ledger_actions():
    from lealtad.ledger import actions

    for name in ("coin_wallet", "earn_coins", "pay_with_coins", "add_months"):
        assert not hasattr(actions, name), name
