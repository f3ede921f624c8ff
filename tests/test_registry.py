"""One registry type behind every plug-in point, and one error base for every user-facing error."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import tndnas
from tndnas.data import register_dataset
from tndnas.data.datasets import load_dataset
from tndnas.errors import TndnasError
from tndnas.measure.latency_backends import get_latency_backend, register_latency_backend
from tndnas.objectives import get_cost, register_cost
from tndnas.op_sets import register_op_set, resolve_op_set
from tndnas.ops import build_op, register_op
from tndnas.registry import DuplicateNameError, Registry, UnknownNameError
from tndnas.spaces import get_space, register_space

# (what to look up, a misspelt name, the name it should suggest)
LOOKUPS = [
    (lambda n: build_op(n, 4, 1), "sep_conv_3x4", "sep_conv_3x3"),
    (resolve_op_set, "tnd-normall", "tnd-normal"),
    (get_cost, "param", "params"),
    (get_latency_backend, "onnxruntim", "onnxruntime"),
    (lambda n: load_dataset(n, None), "digit", "digits"),
    (get_space, "nb210", "nb201"),
]


@pytest.mark.parametrize(("lookup", "name", "close"), LOOKUPS)
def test_an_unknown_name_is_one_tndnas_error_that_suggests_the_closest(lookup, name, close):
    with pytest.raises(TndnasError) as info:
        lookup(name)
    msg = str(info.value)
    assert "unknown" in msg and f"'{name}'" in msg
    assert f"Did you mean '{close}'?" in msg
    assert "\n" not in msg and not msg.startswith("'")  # one plain sentence, not KeyError's repr


@pytest.mark.parametrize(
    "register",
    [
        lambda: register_op("skip_connect", lambda C, s, a: None),
        lambda: register_op_set("darts", ["none"]),
        lambda: register_cost("params", lambda g, ctx: 0.0),
        lambda: register_latency_backend("torch", get_latency_backend("torch")),
        lambda: register_dataset("digits", lambda d, dl: None),
        lambda: register_space("darts", get_space("darts")),
    ],
)
def test_registering_a_taken_name_needs_overwrite(register):
    with pytest.raises(DuplicateNameError, match="already registered; pass overwrite=True"):
        register()


def test_registry_lists_gets_and_replaces_only_when_asked():
    reg: Registry[int] = Registry("widget", "register one with widgets.add")
    reg.register("b", 2)
    reg.register("a", 1)
    assert reg.names() == ["a", "b"] and [n for n, _ in reg.items()] == ["b", "a"]
    assert "a" in reg and len(reg) == 2 and reg.get("a") == 1
    with pytest.raises(DuplicateNameError):
        reg.register("a", 3)
    reg.register("a", 3, overwrite=True)
    assert reg.get("a") == 3
    with pytest.raises(UnknownNameError, match="Known widgets: a, b; register one with widgets"):
        reg.get("c")
    with pytest.raises(KeyError):  # still a KeyError for Python callers
        reg.get("c")


#: exceptions of tndnas that are not reports to a user (control flow between its own parts)
INTERNAL = {"JobStepFailed", "Terminated"}


def test_every_error_class_of_the_package_derives_from_tndnas_error():
    found = {}
    for mod in pkgutil.walk_packages(tndnas.__path__, "tndnas."):
        if mod.name.endswith("ray_backend"):
            continue  # needs ray; its one exception is internal
        module = importlib.import_module(mod.name)
        for name, obj in vars(module).items():
            if inspect.isclass(obj) and issubclass(obj, BaseException):
                if obj.__module__.startswith("tndnas.") and name not in INTERNAL:
                    found[name] = obj
    assert len(found) >= 15, sorted(found)
    strays = sorted(n for n, c in found.items() if not issubclass(c, TndnasError))
    assert not strays, f"user-facing errors outside TndnasError: {strays}"


def test_the_public_api_resolves_every_name_and_imports_no_torch_until_used():
    import subprocess
    import sys

    code = (
        "import sys, tndnas; assert 'torch' not in sys.modules, 'import tndnas loaded torch'; "
        "names = [n for n in tndnas.__all__ if n != '__version__']; "
        "[getattr(tndnas, n) for n in names]; assert 'torch' in sys.modules; "
        "assert issubclass(tndnas.TndnasError, Exception) and callable(tndnas.search); "
        "print(len(names))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert int(out.stdout) >= 15
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        tndnas.nope  # noqa: B018


def test_every_module_of_the_package_is_in_a_layer_of_the_import_contract():
    from pathlib import Path

    import tomllib

    root = Path(tndnas.__file__).parent
    layers = tomllib.loads((root.parents[1] / "pyproject.toml").read_text())["tool"]["importlinter"]
    listed = {m.strip() for layer in layers["contracts"][0]["layers"] for m in layer.split("|")}
    tops = {f"tndnas.{p.stem}" for p in root.glob("*.py") if p.stem != "__init__"}
    tops |= {f"tndnas.{p.name}" for p in root.iterdir() if (p / "__init__.py").exists()}
    assert tops - listed == set(), "add these to [tool.importlinter]'s layers in pyproject.toml"
