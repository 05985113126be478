"""Dependencies point one way, between folders as between modules.

The package is a stack of folders (``LAYERS``, top first): a module imports only modules of
its own folder or of a folder below it, and the modules of one folder import each other
without a cycle. Nothing below the app imports the definitions; the root holds only the one
module that wraps Dagster's private API. Every module imports on its own in a fresh
interpreter, and the unit tests never load the Dagster definitions. Imports inside
functions count like the others: an import moved into a function to dodge a cycle is still
a cycle.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = "gridflow_assets"
PACKAGE = Path(__file__).resolve().parents[2] / ROOT
UNIT_TESTS = PACKAGE.parent / "gridflow_assets_tests" / "unit"
# Top first. What each owns: docs/architecture.md#the-code.
LAYERS = (
    "app",  # the command line, its terminal output, the runner
    "defs",  # the code location: definitions, instance, sensors, schedules, jobs
    "assets",  # Dagster assets of every layer, one step per layer
    "generate",  # synthetic drops
    "dq",  # check history, scorecards, states, sign-offs, the dashboard
    "checks",  # check rules and their Dagster checks
    "publish",  # Green Button feeds
    "experience",  # daily summaries
    "gold",  # the star schema
    "external",  # published views
    "silver",  # adapters, the bronze → silver pipeline, VEE
    "store",  # the warehouse, its table format, landing, settings
    "registry",  # tables, columns, formats, partitions
    "domain",  # vocabularies, local days, the tariff
    "dagster_api",  # the one module that imports Dagster's private API
)
CODE_LOCATION = f"{ROOT}.defs.definitions"


def modules(package: Path = PACKAGE) -> dict[str, Path]:
    """Dotted name → source file of every module of the package (packages by their
    ``__init__``)."""
    found = {}
    for path in sorted(package.rglob("*.py")):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _imported(
    name: str, path: Path, node: ast.Import | ast.ImportFrom, known: dict[str, Path]
) -> list[str]:
    """The modules of ``known`` an import statement of module ``name`` loads:
    ``from pkg import sub`` goes to ``pkg.sub`` when that is a module, else to ``pkg``."""
    if isinstance(node, ast.Import):
        targets = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        if node.level:
            here = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
            here = here[: len(here) - node.level + 1]
            base = ".".join(here + ([node.module] if node.module else []))
        targets = [
            f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
            for alias in node.names
        ]
    resolved = []
    for target in targets:
        while target not in known and "." in target:  # `import pkg.mod.attr` style
            target = target.rsplit(".", 1)[0]
        if target in known and target != name:
            resolved.append(target)
    return resolved


def import_graph(known: dict[str, Path] | None = None) -> dict[str, set[str]]:
    """Module → the package's modules it imports, at module level or inside functions."""
    known = known if known is not None else modules()
    graph = {}
    for name, path in known.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        graph[name] = {
            target
            for node in ast.walk(tree)
            if isinstance(node, ast.Import | ast.ImportFrom)
            for target in _imported(name, path, node, known)
        }
    return graph


def _cycle_from(
    node: str, graph: dict[str, set[str]], path: list[str], done: set[str]
) -> list[str] | None:
    """Depth first from ``node`` (``path``: the modules being visited): the first cycle met,
    as the path that closes it (``[a, b, a]``)."""
    path.append(node)
    for nxt in sorted(graph.get(node, ())):
        if nxt in path:
            return path[path.index(nxt) :] + [nxt]
        if nxt not in done and (cycle := _cycle_from(nxt, graph, path, done)):
            return cycle
    path.pop()
    done.add(node)
    return None


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Cycles of the graph, each named by its modules; a module of a reported cycle is not
    searched again, so two cycles through one module are reported one at a time."""
    cycles: list[list[str]] = []
    done: set[str] = set()
    for start in sorted(graph):
        if start not in done and (cycle := _cycle_from(start, graph, [], done)):
            cycles.append(cycle)
            done.update(cycle)
    return cycles


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def upward(graph: dict[str, set[str]]) -> list[str]:
    """Imports from a folder to one above it (or to a folder ``LAYERS`` does not place)."""
    rank = {name: i for i, name in enumerate(LAYERS)}
    found = []
    for module, targets in graph.items():
        for target in targets:
            here, there = _layer(module), _layer(target)
            if here != there and rank.get(here, -1) > rank.get(there, len(LAYERS)):
                found.append(f"{module} → {target}")
            elif here != there and (here not in rank or there not in rank):
                found.append(f"{module} → {target} (a folder LAYERS does not place)")
    return sorted(found)


def test_a_cycle_is_found_and_named():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e2"}, "e2": set()}
    assert find_cycles(graph) == [["a", "b", "c", "a"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []


def test_an_upward_import_is_found_and_named():
    down = {f"{ROOT}.app.cli": {f"{ROOT}.store.warehouse"}, f"{ROOT}.store.warehouse": set()}
    assert upward(down) == []
    up = {f"{ROOT}.store.warehouse": {f"{ROOT}.silver.pipeline"}}
    assert upward(up) == [f"{ROOT}.store.warehouse → {ROOT}.silver.pipeline"]
    assert upward({f"{ROOT}.app.cli": {f"{ROOT}.misc.x"}})  # an unplaced folder is named


def test_from_package_import_submodule_goes_to_the_submodule():
    graph = import_graph()
    assert f"{ROOT}.dq.svg" in graph[f"{ROOT}.dq.html"]
    assert f"{ROOT}.dq" not in graph[f"{ROOT}.dq.html"]


def test_import_graph_has_no_cycle():
    cycles = find_cycles(import_graph())
    assert not cycles, "import cycles:\n" + "\n".join(" → ".join(c) for c in cycles)


def test_every_folder_has_its_place_and_no_import_runs_up():
    found = modules()
    folders = {_layer(m) for m in found if m != ROOT}
    assert folders <= set(LAYERS), f"folders LAYERS does not place: {folders - set(LAYERS)}"
    loose = sorted(m for m in found if m.count(".") == 1 and not (PACKAGE / _layer(m)).is_dir())
    assert loose == [f"{ROOT}.dagster_api"], f"modules loose at the package root: {loose}"
    wrong = upward(import_graph(found))
    assert not wrong, "imports against the layering:\n" + "\n".join(wrong)


def test_only_the_app_imports_the_definitions():
    importers = sorted(
        module
        for module, targets in import_graph().items()
        if CODE_LOCATION in targets and _layer(module) != "app"
    )
    assert not importers, f"modules below the app import {CODE_LOCATION}: {importers}"


def test_the_unit_tests_do_not_load_the_definitions():
    """Every unit test module imported in one fresh interpreter: the Dagster definitions
    (and with them every asset and check) are never loaded."""
    names = sorted(
        ".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts)
        for p in UNIT_TESTS.rglob("test_*.py")
    )
    probe = (
        "import sys\n"
        f"for name in {names!r}:\n"
        "    __import__(name)\n"
        f"print({CODE_LOCATION!r} in sys.modules, len(sys.modules))\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", probe],
        check=False,
        capture_output=True,
        text=True,
        cwd=PACKAGE.parent,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    loaded, _ = run.stdout.split()
    assert loaded == "False", "a unit test module loads the Dagster definitions"
    assert len(names) > 30


# Run in one fresh interpreter: the third-party libraries are imported once, then each
# gridflow module is imported in a forked child that has imported nothing of gridflow yet
# (as many children at a time as there are cores). Which third-party modules the package
# loads is asked of a first child that imports all of it, so that the parent loads them
# all before forking and each child imports gridflow's own code only.
_IMPORT_EACH = """
import os, sys, traceback
import dagster, pandas, polars, pyarrow, pandera.polars  # third-party, loaded once
failed, running, names = [], {}, list(sys.argv[1:])
read, write = os.pipe()
scout = os.fork()
if scout == 0:
    os.close(read)
    for name in names:
        try:
            __import__(name)
        except BaseException:
            pass  # reported by its own child below
    with os.fdopen(write, "w") as pipe:
        pipe.write(" ".join(m for m in sys.modules if m.split(".")[0] != "gridflow_assets"))
    os._exit(0)
os.close(write)
with os.fdopen(read) as pipe:
    third_party = pipe.read().split()
os.waitpid(scout, 0)
for module in third_party:
    try:
        __import__(module)
    except BaseException:
        pass
assert not [m for m in sys.modules if m.split(".")[0] == "gridflow_assets"]
while names or running:
    while names and len(running) < (os.cpu_count() or 1):
        name = names.pop(0)
        pid = os.fork()
        if pid == 0:
            try:
                __import__(name)
            except BaseException:
                traceback.print_exc(limit=1)
                os._exit(1)
            os._exit(0)
        running[pid] = name
    pid, status = os.wait()
    if status:
        failed.append(running[pid])
    del running[pid]
print("FAILED:" + ",".join(sorted(failed)))
"""


def test_every_module_imports_on_its_own():
    """Each module imported before any other gridflow module was: no module relies on
    another having been imported first (a fork per module of one fresh interpreter that
    has loaded only the third-party libraries)."""
    names = sorted(modules())
    run = subprocess.run(
        [sys.executable, "-c", _IMPORT_EACH, *names],
        check=False,
        capture_output=True,
        text=True,
        cwd=PACKAGE.parent,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    failed = run.stdout.strip().rsplit("FAILED:", 1)[-1]
    assert failed == "", f"modules that do not import on their own: {failed}\n{run.stderr}"
