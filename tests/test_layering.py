"""No module of the library reaches into another's private names: every attribute access
`x._name` whose x is not self, cls or super() is listed below with the reason it stays. What one
module needs of another's objects has a public name (Network.loss_and_gradients,
fastnn.validation.check_xy, fastnn.training.run_epochs, ...)."""
import ast
import pathlib

import fastnn

# (module, the access as written): why it stays.
ALLOWED = {
    ("fastnn.io", "net._setup"): "load builds a Network without drawing weights: the constructor's "
                                 "first half, as the inverse of save (see test_imports.ALLOWED)",
    ("fastnn.io", "net._refresh"): "save checks the network as every Network call does, and load "
                                   "checks the one it built",
    ("fastnn.onnx", "net._refresh"): "export checks the network as every Network call does",
    ("fastnn.onnx", "net._lock"): "export reads the layers under the lock predict and save hold, "
                                  "not while a fit in another thread changes them",
    ("fastnn.network", "net._refresh"): "astype's copy is a Network, this module's own class",
    ("fastnn.layers", "layer._configure"): "Dense.from_arrays configures a Dense, this module's "
                                           "own class",
    ("fastnn.sklearn", "est._check_solver"): "available_if calls its check with the estimator "
                                             "itself, an instance of this module's class",
}


def private_accesses(source):
    """The accesses `x._name` in source (not dunders) whose x is not self, cls or super(), as
    written."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Attribute) and node.attr.startswith("_")
                and not node.attr.startswith("__")):
            continue
        owner = node.value
        if isinstance(owner, ast.Name) and owner.id in ("self", "cls"):
            continue
        if (isinstance(owner, ast.Call) and isinstance(owner.func, ast.Name)
                and owner.func.id == "super"):
            continue
        found.append(ast.unparse(node))
    return found


def library_accesses():
    """{(module, access)} over every Python file of the library."""
    root = pathlib.Path(fastnn.__file__).parent
    found = set()
    for path in root.rglob("*.py"):
        parts = path.relative_to(root.parent).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found |= {(module, access) for access in private_accesses(path.read_text())}
    return found


def test_private_accesses_finds_them():
    source = ("def f(self, net):\n"
              "    self._a, cls._b, super()._c(), self.__dict__\n"
              "    net._plan(3)\n"
              "    return self.network._d, net.public\n")
    assert sorted(private_accesses(source)) == ["net._plan", "self.network._d"]


def test_no_module_reaches_into_another_modules_private_names():
    found = library_accesses()
    assert ("fastnn.engine", "network.train_layers") not in found  # a public name is not listed
    assert sorted(found - set(ALLOWED)) == []
    assert sorted(set(ALLOWED) - found) == []  # an entry no longer needed goes
