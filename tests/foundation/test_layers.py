"""The layers of docs/architecture.md, read from the import graph (with
`ast`, every import wherever it is, inside functions too):
- messaging never imports dashboard;
- inside messaging, only messaging/api imports messaging.api;
- the engine's modules import each other without a cycle;
- an import inside a function says why it cannot be at the top."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("messaging", "dashboard")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules(package: str) -> dict[str, Path]:
    return {module_name(p): p for p in sorted((ROOT / package).rglob("*.py")) if "migrations" not in p.parts}


ALL = {**modules("messaging"), **modules("dashboard")}


def imports(name: str, path: Path) -> list[tuple[str, ast.AST, bool]]:
    """(imported module, node, inside a function) for every import of the
    module; `from a import b` names `a.b` when that is a module, else `a`."""
    tree = ast.parse(path.read_text(), str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []

    def visit(node, in_function):
        for child in ast.iter_child_nodes(node):
            nested = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            if isinstance(child, ast.Import):
                found.extend((alias.name, child, in_function) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")[: len(package.split(".")) - child.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                for alias in child.names:
                    target = f"{base}.{alias.name}"
                    found.append((target if target in ALL else base, child, in_function))
            visit(child, nested)

    visit(tree, False)
    return found


def within(target: str, package: str) -> bool:
    return target == package or target.startswith(package + ".")


GRAPH = {name: imports(name, path) for name, path in ALL.items()}


def test_messaging_never_imports_dashboard():
    wrong = [f"{name} imports {target}" for name, found in GRAPH.items() if within(name, "messaging")
             for target, _, _ in found if within(target, "dashboard")]
    assert not wrong, "\n".join(wrong)


def test_only_the_api_imports_the_api():
    wrong = [f"{name} imports {target}" for name, found in GRAPH.items()
             if within(name, "messaging") and not within(name, "messaging.api")
             for target, _, _ in found if within(target, "messaging.api")]
    assert not wrong, "\n".join(wrong)


def test_the_engine_has_no_import_cycle():
    edges = {name: {t for t, _, _ in found if t in ALL and t != name and not name.startswith(t + ".")}
             for name, found in GRAPH.items() if within(name, "messaging")}
    cycles = []
    state: dict[str, int] = {}

    def walk(node, stack):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join(stack[stack.index(nxt):] + [nxt]))
            elif nxt not in state:
                walk(nxt, stack)
        stack.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            walk(node, [])
    assert not cycles, "\n".join(cycles)


def test_an_import_inside_a_function_says_why():
    unexplained = []
    for name, found in GRAPH.items():
        lines = ALL[name].read_text().splitlines()
        for target, node, in_function in found:
            if not in_function:
                continue
            above = lines[node.lineno - 2].strip() if node.lineno > 1 else ""
            if "#" not in lines[node.lineno - 1] and not above.startswith("#"):
                unexplained.append(f"{ALL[name].relative_to(ROOT)}:{node.lineno} imports {target}")
    assert not unexplained, "\n".join(unexplained)


@pytest.mark.parametrize("source, expected, in_function", [
    ("from messaging import api\n", "messaging.api", False),
    ("from messaging.api.auth import api_view\n", "messaging.api.auth", False),
    ("from .api import auth\n", "messaging.api.auth", False),
    ("def f():\n    import dashboard.settings\n", "dashboard.settings", True),
])
def test_the_graph_sees_every_form_of_import(tmp_path, source, expected, in_function):
    module = tmp_path / "example.py"  # read as if it were messaging/example.py
    module.write_text(source)
    assert [(t, inside) for t, _, inside in imports("messaging.example", module)] == [(expected, in_function)]
