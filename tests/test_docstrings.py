"""The API reference's contract: every public name has a page in docs/api/, and every object
those pages document has a numpydoc docstring whose Parameters match its signature, type hints,
and Examples that run (as doctests, against the installed package)."""
import doctest
import importlib
import inspect
import pathlib
import re

import numpy as np
import pytest
from numpydoc.docscrape import ClassDoc, FunctionDoc

import fastnn

API = pathlib.Path(__file__).resolve().parent.parent / "docs" / "api"
# `::: fastnn.Name` and, optionally, the members its page shows: "members: [fit, predict]"
ENTRY = re.compile(r"^::: (\S+)\n(?:    options:\n      members: (false|\[[^\]]*\])\n)?", re.M)


def documented():
    """{dotted name: the members its page documents} over every page of docs/api/."""
    entries = {}
    for page in sorted(API.glob("*.md")):
        for name, members in ENTRY.findall(page.read_text()):
            listed = members[1:-1].split(", ") if members.startswith("[") else []
            entries[name] = [m for m in listed if m]
        if "<!-- fastnn.kernels' docstring -->" in page.read_text():  # docs/hooks.py fills it
            entries["fastnn.kernels"] = []
    return entries


def resolve(dotted):
    module, _, attribute = dotted.rpartition(".")
    try:
        return getattr(importlib.import_module(module), attribute)
    except ImportError:  # a module itself: fastnn.kernels
        return importlib.import_module(dotted)


def objects():
    """(dotted name, object, is_member) for every documented class, function and member."""
    for name, members in documented().items():
        obj = resolve(name)
        yield name, obj, False
        for member in members:
            static = inspect.getattr_static(obj, member)
            # a property as such; a method as the class gives it (scikit-learn's available_if
            # wraps partial_fit in a descriptor)
            yield f"{name}.{member}", static if isinstance(static, property) \
                else inspect.unwrap(getattr(obj, member)), True


ALL = list(objects())
IDS = [name for name, _, _ in ALL]


def test_every_public_name_has_a_page():
    pages = documented()
    missing = [name for name in fastnn.__all__
               if f"fastnn.{name}" not in pages
               and not any(entry.startswith(f"fastnn.{name}.") for entry in pages)]
    assert not missing, f"public names without an API page in docs/api/: {missing}"
    assert len(pages) > 60


def signature_parameters(obj):
    function = obj.__init__ if inspect.isclass(obj) else obj
    parameters = list(inspect.signature(function).parameters.values())
    if inspect.isclass(obj) or "." in obj.__qualname__:  # a method: self or cls comes first
        parameters = parameters[1:]
    return [p for p in parameters if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]


def documented_names(section):
    return {name.strip().lstrip("*") for entry in section for name in entry.name.split(",")}


@pytest.mark.parametrize("name, obj, is_member", ALL, ids=IDS)
def test_numpydoc_sections_match_the_signature(name, obj, is_member):
    if inspect.ismodule(obj):
        assert obj.__doc__ and obj.__doc__.strip(), f"{name} has no docstring"
        return
    if isinstance(obj, property):
        assert obj.fget.__doc__, f"{name} has no docstring"
        assert "return" in obj.fget.__annotations__, f"{name} has no return type hint"
        return
    obj = obj.__func__ if isinstance(obj, (staticmethod, classmethod)) else obj
    doc = ClassDoc(obj, config={"show_class_members": False}) if inspect.isclass(obj) \
        else FunctionDoc(obj)
    assert doc["Summary"], f"{name} has no one-line summary"
    expected = {p.name for p in signature_parameters(obj)}
    assert documented_names(doc["Parameters"]) == expected, \
        f"{name}: the Parameters section does not list exactly the signature's parameters"
    if not inspect.isclass(obj):
        returns = inspect.signature(obj).return_annotation
        if returns not in (None, "None"):
            assert doc["Returns"] or doc["Yields"], f"{name} has no Returns section"
    if not is_member:
        assert ">>>" in "\n".join(doc["Examples"]), f"{name} has no Examples"


@pytest.mark.parametrize("name, obj, is_member", ALL, ids=IDS)
def test_type_hints_on_every_parameter_and_return(name, obj, is_member):
    if inspect.ismodule(obj) or isinstance(obj, property):
        return
    obj = obj.__func__ if isinstance(obj, (staticmethod, classmethod)) else obj
    unannotated = [p.name for p in signature_parameters(obj) if p.annotation is p.empty]
    assert not unannotated, f"{name}: parameters without a type hint: {unannotated}"
    if not inspect.isclass(obj):
        assert inspect.signature(obj).return_annotation is not inspect.Signature.empty, \
            f"{name} has no return type hint"


def test_the_package_is_marked_typed():
    assert (pathlib.Path(fastnn.__file__).parent / "py.typed").is_file()


@pytest.mark.parametrize("name, obj, is_member", ALL, ids=IDS)
def test_the_examples_run(name, obj, is_member):
    function = obj.fget if isinstance(obj, property) else obj
    text = inspect.getdoc(function) or ""
    if ">>>" not in text:
        return
    test = doctest.DocTestParser().get_doctest(text, {"np": np, "fnn": fastnn}, name, None, 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    runner.run(test)
    assert runner.failures == 0, f"{name}: {runner.failures} of its examples failed (output above)"
