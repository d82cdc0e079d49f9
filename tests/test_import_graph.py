"""The project's own modules import one another without a cycle.

Every ``.py`` under disclosures/, checklist/ and disclosure_portal/ is parsed (not
imported) and each ``import``/``from … import`` naming a project module becomes an edge,
**function-level imports included** (an import inside a function is still a dependency:
the cycle models → pdf → display → snapshot → models ran through such imports). Imports
under ``if TYPE_CHECKING:`` are not edges; migrations are left out (Django loads them by
name, never the other way round). ``from package import name`` is an edge to
``package.name`` when that is a module, else to ``package``; importing ``a.b.c`` also
runs ``a`` and ``a.b``, so those are edges too.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ("disclosures", "checklist", "disclosure_portal", "subscriptions")


def project_modules():
    modules = {}
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            relative = path.relative_to(ROOT).with_suffix("")
            parts = relative.parts
            if "migrations" in parts:
                continue
            is_package = parts[-1] == "__init__"
            name = ".".join(parts[:-1] if is_package else parts)
            modules[name] = (path, is_package)
    return modules


def _type_checking_blocks(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.If):
            test = node.test
            name = test.id if isinstance(test, ast.Name) else getattr(test, "attr", None)
            if name == "TYPE_CHECKING":
                yield from (n for child in node.body for n in ast.walk(child))


def imported_modules(name, path, is_package, modules):
    """The project modules that module ``name`` imports (anywhere in its body)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    skipped = set(map(id, _type_checking_blocks(tree)))
    package = name if is_package else name.rpartition(".")[0]
    targets = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")
                base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module
            targets.add(base)
            targets.update(f"{base}.{alias.name}" for alias in node.names)
    edges = set()
    for target in targets:
        parts = target.split(".")
        for end in range(1, len(parts) + 1):  # a.b.c runs a and a.b first
            candidate = ".".join(parts[:end])
            if candidate in modules and candidate != name:
                edges.add(candidate)
    return edges


def import_graph():
    modules = project_modules()
    return {
        name: imported_modules(name, path, is_package, modules)
        for name, (path, is_package) in modules.items()
    }


def find_cycle(graph):
    """One cycle as a list of modules (first == last), or None."""
    state = {}
    stack = []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == "open":
                return stack[stack.index(target) :] + [target]
            if target not in state:
                cycle = visit(target)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_the_project_has_no_import_cycle():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " → ".join(cycle)


def test_the_walker_sees_function_level_imports_and_finds_a_cycle():
    """The walker itself: the issue's cycle ran through imports inside functions."""
    graph = import_graph()
    assert "disclosures.formatting" in graph["disclosures.pdf.document"]  # module level
    assert "disclosures.pdf.document" in graph["disclosures.admin"]  # inside a view method
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_the_pdf_harness_and_font_coverage_import_nothing_of_the_project_but_their_package():
    graph = import_graph()
    assert graph["disclosures.pdf.harness"] == set()
    assert graph["disclosures.pdf.fonts"] <= {"disclosures", "disclosures.pdf"}
    assert graph["disclosures.pdf"] <= {"disclosures", "disclosures.pdf.harness"}
