"""The library's modules import each other in one direction: no cycles, counting the imports
inside functions too (a cycle there fails only on the call that closes it)."""
import ast
import pathlib

import fastnn

# Network.save calls fastnn.io.save and fastnn.io.load builds a Network; each imports the other
# only inside that function, the one pair of modules that are each other's inverse.
ALLOWED = {frozenset({"fastnn.io", "fastnn.network"})}


def import_graph(folder):
    """{module: the fastnn modules it imports anywhere in its code}, for fastnn/*.py."""
    graph = {}
    for path in pathlib.Path(folder).glob("*.py"):
        name = "fastnn" if path.stem == "__init__" else "fastnn." + path.stem
        deps = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.ImportFrom) and node.module
                    and node.module.split(".")[0] == "fastnn"):
                if node.module == "fastnn":
                    deps |= {"fastnn." + alias.name for alias in node.names}
                else:
                    deps.add(".".join(node.module.split(".")[:2]))
            elif isinstance(node, ast.Import):
                deps |= {".".join(alias.name.split(".")[:2]) for alias in node.names
                         if alias.name.split(".")[0] == "fastnn"}
        graph[name] = deps - {name}
    return graph


def cycles(graph):
    """Every elementary cycle, each once (starting from its smallest module)."""
    found = []

    def walk(start, node, path):
        for dep in sorted(graph.get(node, ())):
            if dep == start:
                found.append(path)
            elif dep in graph and dep > start and dep not in path:
                walk(start, dep, path + [dep])
    for start in sorted(graph):
        walk(start, start, [start])
    return found


def test_cycles_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]


def test_no_import_cycles():
    graph = import_graph(pathlib.Path(fastnn.__file__).parent)
    assert "fastnn.cli_train" in graph and "fastnn.network" in graph["fastnn.io"]
    found = [cycle for cycle in cycles(graph) if frozenset(cycle) not in ALLOWED]
    assert found == []


def imported_modules(folder):
    """Every top-level module name that fastnn/*.py imports anywhere in its code."""
    names = set()
    for path in pathlib.Path(folder).glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module.split(".")[0])
            elif isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
    return names


def test_the_benchmarks_are_not_part_of_the_library():
    package = pathlib.Path(fastnn.__file__).parent
    benchmarks = pathlib.Path(__file__).resolve().parent.parent / "benchmarks"
    scripts = {path.stem for path in benchmarks.glob("*.py")}
    assert {"training", "estimators", "timing"} <= scripts
    assert not [path.name for path in package.rglob("*.py") if path.stem.startswith("bench")]
    assert "fastnn" in imported_modules(package)  # the walk sees the package's imports
    assert not imported_modules(package) & (scripts | {"benchmarks"})


def test_all_names_every_registry_activation_and_optimizer():
    from fastnn import layers, optimizers
    made = {cls.__name__ for cls in layers.ACTIVATION_LAYERS} | set(optimizers.CLASSES)
    assert made <= set(fastnn.__all__)
    assert all(hasattr(fastnn, name) for name in fastnn.__all__)
    assert len(set(fastnn.__all__)) == len(fastnn.__all__)
