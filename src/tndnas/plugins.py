"""Users' own code: modules that register ops, op sets, costs, datasets or latency backends.

A plug-in is an ordinary Python module whose import calls tndnas's ``register_*`` functions
(:func:`tndnas.ops.register_op`, :func:`tndnas.op_sets.register_op_set`,
:func:`tndnas.objectives.register_cost`, :func:`tndnas.data.register_dataset`, ...). It reaches
every command in two ways:

* ``tndnas --plugin my_module COMMAND ...`` (repeatable), before the command name;
* a ``plugins: [my_module]`` list in a search or train config;
* the environment variable ``TNDNAS_PLUGINS`` (names separated by ``os.pathsep``), which is how
  a sweep hands its plug-ins to the jobs it starts.

A plug-in is named by its module name (``my_module``, ``my_pkg.ops``; the current folder is
searched first, as ``python -m`` does) or by the path of a ``.py`` file. Either way it is
imported once per process: a relative path, the absolute path a config records and the module
name of the same file are one plug-in, so its ``register_*`` calls need no ``overwrite=True``. The plug-ins of the command line are added to the config of the run,
so ``config.yaml`` records them: a resumed run, a sweep's jobs and ``tndnas train`` on the result
import them again.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import ModuleType

import yaml

from .errors import TndnasError
from .run_files import CONFIG_FILE

__all__ = [
    "PLUGINS_ENV",
    "PluginError",
    "active_plugins",
    "env_plugins",
    "import_plugins",
    "plugin_scope",
    "recorded_name",
    "run_plugins",
]

#: Environment variable naming plug-ins to import, separated by ``os.pathsep``.
PLUGINS_ENV = "TNDNAS_PLUGINS"


class PluginError(TndnasError, ImportError):
    """A plug-in that cannot be found or that failed while importing; one line."""


_IMPORTED: dict[str, ModuleType] = {}
_SCOPE: list[str] = []


def _is_path(spec: str) -> bool:
    return spec.endswith(".py") or os.sep in spec or "/" in spec


def _import_file(spec: str) -> ModuleType:
    path = Path(spec).expanduser()
    if not path.is_file():
        raise PluginError(
            f"plug-in file '{spec}' does not exist; give the path of a .py file or a module name"
        )
    name = "tndnas_plugin_" + "".join(c if c.isalnum() else "_" for c in path.resolve().stem)
    loader_spec = importlib.util.spec_from_file_location(name, path)
    if loader_spec is None or loader_spec.loader is None:  # pragma: no cover - .py files load
        raise PluginError(f"cannot load plug-in file '{spec}' as a Python module")
    module = importlib.util.module_from_spec(loader_spec)
    sys.modules[name] = module
    try:
        loader_spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def _identity(spec: str) -> str:
    """What a plug-in is, however it was named: the resolved path of its file (a ``.py`` path,
    relative or absolute, or a module name found on the path), else the module name."""
    if _is_path(spec):
        return str(Path(spec).expanduser().resolve())
    if spec in sys.modules:
        where = getattr(sys.modules[spec], "__file__", None)
        return str(Path(where).resolve()) if where else spec
    _user_folder_first()
    try:
        found = importlib.util.find_spec(spec)  # locates the module without running it
    except (ImportError, ValueError):
        return spec
    origin = getattr(found, "origin", None)
    return str(Path(origin).resolve()) if origin and Path(origin).is_file() else spec


def _user_folder_first() -> None:
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:
        sys.path.insert(0, cwd)  # as `python -m` does: the user's own folder first


def _import_one(spec: str) -> ModuleType:
    if _is_path(spec):
        return _import_file(spec)
    _user_folder_first()
    try:
        return importlib.import_module(spec)
    except ModuleNotFoundError as e:
        if e.name and (spec == e.name or spec.startswith(e.name + ".")):
            raise PluginError(
                f"cannot find plug-in module '{spec}'; give an importable module name "
                f"(run from its folder or add it to PYTHONPATH) or the path of a .py file"
            ) from None
        raise


def import_plugins(specs: Sequence[str]) -> list[ModuleType]:
    """Import each plug-in of ``specs`` (module names or ``.py`` paths) once; their
    registrations take effect for the rest of the process.

    Raises :class:`PluginError` (one line) when a plug-in cannot be found or raises while
    it is imported."""
    if isinstance(specs, str):
        specs = [specs]
    modules = []
    for spec in specs:
        if not isinstance(spec, str) or not spec.strip():
            raise PluginError(f"plug-in {spec!r} is invalid; give a module name or a .py path")
        key = _identity(spec)  # './x.py', '/abs/x.py' and module 'x' are one plug-in
        if key not in _IMPORTED:
            try:
                _IMPORTED[key] = _import_one(spec)
            except PluginError:
                raise
            except Exception as e:  # the user's module raised while registering
                raise PluginError(
                    f"plug-in '{spec}' failed while importing: {type(e).__name__}: {e}"
                ) from e
        modules.append(_IMPORTED[key])
    return modules


def recorded_name(spec: str) -> str:
    """How a config records plug-in ``spec``: a ``.py`` path made absolute (so a resume or a
    training from another folder finds it), a module name as given."""
    return str(Path(spec).expanduser().resolve()) if _is_path(spec) else spec


def run_plugins(run: str | os.PathLike) -> list[str]:
    """The plug-ins recorded in the ``config.yaml`` of a run directory (``run`` may also be a
    ``genotype.json`` inside one); [] for anything else."""
    path = Path(run)
    folder = path if path.is_dir() else path.parent
    try:
        data = yaml.safe_load((folder / CONFIG_FILE).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return []
    plugins = data.get("plugins") if isinstance(data, dict) else None
    return [p for p in plugins if isinstance(p, str)] if isinstance(plugins, list) else []


def env_plugins() -> list[str]:
    """The plug-ins named by the ``TNDNAS_PLUGINS`` environment variable."""
    return [p for p in os.environ.get(PLUGINS_ENV, "").split(os.pathsep) if p.strip()]


def active_plugins() -> list[str]:
    """The plug-ins given on the command line of the running ``tndnas`` command."""
    return list(_SCOPE)


@contextlib.contextmanager
def plugin_scope(specs: Sequence[str]) -> Iterator[None]:
    """Import ``specs`` and make them :func:`active_plugins` (added to every config loaded)
    until the block ends."""
    import_plugins(specs)
    saved = list(_SCOPE)
    _SCOPE[:] = list(dict.fromkeys([*saved, *specs]))
    try:
        yield
    finally:
        _SCOPE[:] = saved
