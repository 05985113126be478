"""What the user waits for: gridflow's commands timed as processes, beside the bare
reference scripts (:mod:`benchmarks.bare`) run on the same machine in the same hour.

Each command runs as a child process of the bench, its output captured; its wall time is
taken around the process and its peak resident memory from ``os.wait4`` (``ru_maxrss`` of
the child and of every process it waited for: the run's workers too, like ``/usr/bin/time
-v``). :func:`measure_workload` times, after the in-process stage split and on drops
identical to it: ``gridflow generate`` (into a folder of its own, deleted after), ``gridflow
run`` on a fresh warehouse, ``gridflow dq`` and a one-partition ``gridflow run --utility U
--month M`` on the warehouse just built, and ``gridflow run`` on an empty landing (the
command's fixed start-up: interpreter, imports, instance), once more under ``python -X
importtime`` to split imports from the rest. :func:`measure_demo` times ``make demo`` after
install (each recipe line too) in a temporary folder, then ``dq`` and a rerun on its warehouse.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BARE = Path(__file__).resolve().with_name("bare.py")
PYTHON = sys.executable
# The installed `gridflow` script ([project.scripts]) beside this interpreter, run by it:
# ``python -X importtime <script>`` then times the same command's imports.
SCRIPT = Path(PYTHON).with_name("gridflow")
GRIDFLOW = [PYTHON, str(SCRIPT)]
DEMO_NOW = "2025-08-15T12:00:00Z"  # the Makefile's DEMO_NOW: dq and the rerun see its clock
DEMO_RERUN = ("IESCO", "2025-06")
# Make's own variables: a `make bench X=…` passes X to a nested make through them.
MAKE_VARIABLES = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")


@dataclass
class Timed:
    """One command run ``repeat`` times: wall seconds of each, the largest peak RSS."""

    command: str
    walls: list[float] = field(default_factory=list)
    peak_mib: float = 0.0
    output: str = ""  # stdout and stderr of the last run
    outputs: list[str] = field(default_factory=list)  # of each run that succeeded
    error: str | None = None  # the first failure: exit code and the output's tail
    bare: dict | None = None  # a bare script's BARE figures (last run)

    @property
    def median(self) -> float | None:
        return statistics.median(self.walls) if self.walls and not self.error else None


def gridflow_env(**folders: Path | str) -> dict[str, str]:
    """The environment of a gridflow command: this one without DAGSTER_HOME (each warehouse
    then binds its own instance, ``<warehouse>/.dagster_home``) nor make's variables, with
    ``folders`` as GRIDFLOW_<NAME>."""
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME" and k not in MAKE_VARIABLES}
    env.update({f"GRIDFLOW_{k.upper()}": str(v) for k, v in folders.items()})
    return env


def run_timed(
    command: list[str],
    repeat: int = 1,
    env: dict | None = None,
    cwd: Path | None = None,
    before=None,
    label: str | None = None,
    ok: tuple[int, ...] = (0,),
) -> Timed:
    """``command`` run ``repeat`` times, one after another (``before()`` ahead of each):
    each run's wall time, the largest peak RSS. A failed run (an exit code not in ``ok``)
    ends the repeats."""
    timed = Timed(label or " ".join(command))
    for _ in range(repeat):
        if before:
            before()
        with tempfile.TemporaryFile() as out:
            started = time.perf_counter()
            # its own process group: an interrupted bench ends the command and its workers
            child = subprocess.Popen(
                command,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=cwd,
                start_new_session=True,
            )
            try:
                _, status, usage = os.wait4(child.pid, 0)
            except BaseException:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()
                raise
            wall = time.perf_counter() - started
            child.returncode = os.waitstatus_to_exitcode(status)
            out.seek(0)
            timed.output = out.read().decode(errors="replace")
        timed.peak_mib = max(timed.peak_mib, usage.ru_maxrss / 1024)  # Linux: KiB
        if child.returncode not in ok:
            tail = timed.output.rstrip().splitlines()[-6:] or ["(no output)"]
            timed.error = f"exit {child.returncode}: " + "\n".join(tail)
            break
        timed.walls.append(wall)
        timed.outputs.append(timed.output)
        timed.bare = bare_figures(timed.output) or timed.bare
    return timed


# "[3/12] IESCO/2024-03 ✓ 2.8s: …", a line per partition as `gridflow run` prints it piped
PARTITION_LINE = re.compile(r"^\[\d+/\d+\] \S+/\d{4}-\d{2} \S+ (\d+(?:\.\d+)?)s\b", re.M)


def partition_seconds(timed: Timed) -> float | None:
    """The seconds of the partition runs a `gridflow run` printed, summed; the median over
    its runs (None: none found, e.g. its output changed)."""
    sums = [sum(float(s) for s in PARTITION_LINE.findall(out)) for out in timed.outputs]
    sums = [x for x in sums if x > 0]
    return statistics.median(sums) if sums else None


def bare_figures(output: str) -> dict | None:
    lines = [line for line in output.splitlines() if line.startswith("BARE ")]
    return json.loads(lines[-1][5:]) if lines else None


def import_seconds(stderr: str) -> float:
    """Seconds spent importing, from ``python -X importtime``'s report: the cumulative time
    of the outermost imports (an import made inside a function is outermost too)."""
    entries = []
    for line in stderr.splitlines():
        if not line.startswith("import time:"):
            continue
        parts = line.split("|")
        if len(parts) != 3 or not parts[1].strip().isdigit():
            continue  # the header line
        name = parts[2]
        entries.append((len(name) - len(name.lstrip(" ")), int(parts[1])))
    if not entries:
        return 0.0
    top = min(indent for indent, _ in entries)
    return sum(us for indent, us in entries if indent == top) / 1e6


def bare(step: str, *args: str, repeat: int = 1, before=None) -> Timed:
    return run_timed(
        [PYTHON, str(BARE), step, *args],
        repeat,
        before=before,
        label=f"bare {step}",
    )


def fresh(*folders: Path):
    """A ``before`` that empties ``folders``."""

    def clear() -> None:
        for folder in folders:
            shutil.rmtree(folder, ignore_errors=True)

    return clear


def startup(warehouse: Path, workdir: Path, repeat: int) -> dict:
    """``gridflow run`` on an empty landing, on ``warehouse`` (bound already): the command's
    fixed cost (interpreter, imports, the instance, the scan of nothing); then once under
    ``-X importtime`` for the imports' share."""
    empty = workdir / "empty-landing"
    empty.mkdir(parents=True, exist_ok=True)
    env = gridflow_env(reports=workdir / "reports")
    args = ["run", "--landing", str(empty), "--warehouse", str(warehouse)]
    # "no complete drop": exit 0 or 1 by version, only its time is wanted
    wall = run_timed([*GRIDFLOW, *args], repeat, env=env, cwd=workdir, ok=(0, 1))
    return {"timed": wall, "imports_s": imports_of(args, env, workdir)}


def measure_workload(
    spec: tuple[str, int, str, str],
    seed: int,
    landing: Path,
    workdir: Path,
    workers: int,
    repeat: int,
    repeat_run: int,
    rerun: tuple[str, str] | None,
) -> dict:
    """The commands of one workload (``spec``: utility, meters, first and last month) on
    ``landing`` (the drops the in-process run used), beside the bare scripts."""
    utility, meters, start, end = spec
    work = workdir / "commands"
    work.mkdir(parents=True, exist_ok=True)
    env = gridflow_env(reports=work / "reports")
    found: dict = {"repeat": repeat, "repeat_run": repeat_run, "workers": workers}
    found["rerun_key"] = rerun
    # generation: the whole command (one per utility), into a folder deleted after
    made = work / "generated"
    utilities = ["UTILITY1", "UTILITY2"] if utility == "NY" else [utility]
    generated = Timed("gridflow generate")
    for u in utilities:
        gen = [*GRIDFLOW, "generate", "--utility", u, "--meters", str(meters)]
        gen += ["--start", start, "--end", end, "--seed", str(seed), "--landing", str(made)]
        timed = run_timed(gen, env=env, cwd=work)
        generated.error = generated.error or timed.error
        generated.walls = [sum(generated.walls) + sum(timed.walls)]
        generated.peak_mib = max(generated.peak_mib, timed.peak_mib)
    found["generate"] = generated
    shutil.rmtree(made, ignore_errors=True)
    found["bare_generate"] = bare(
        "generate",
        str(made),
        "--meters",
        str(meters * len(utilities)),
        "--start",
        start,
        "--end",
        end,
    )
    shutil.rmtree(made, ignore_errors=True)
    print("  timed: gridflow generate, bare generate", flush=True)
    # the pipeline: a fresh warehouse for each repeat, the last one kept
    warehouse = work / "run" / "warehouse"
    run = [*GRIDFLOW, "run", "--landing", str(landing), "--warehouse", str(warehouse)]
    found["run"] = run_timed(
        [*run, "--workers", str(workers)],
        repeat_run,
        env=env,
        cwd=work,
        before=fresh(work / "run"),
        label="gridflow run",
    )
    found["run_partitions_s"] = partition_seconds(found["run"])
    out = work / "bare-out"
    found["bare_pipeline"] = bare(
        "pipeline", str(landing), str(out), repeat=repeat_run, before=fresh(out)
    )
    print("  timed: gridflow run, bare pipeline", flush=True)
    if found["run"].error:
        return found
    found["dq"] = run_timed(
        [*GRIDFLOW, "dq", "--warehouse", str(warehouse)],
        repeat,
        env=env,
        cwd=work,
        label="gridflow dq",
    )
    found["dq_imports_s"] = dq_imports(warehouse, env, work)
    found["bare_dq"] = bare("dq", str(warehouse), repeat=repeat)
    print("  timed: gridflow dq, bare dq", flush=True)
    if rerun:
        u, month = rerun
        found["rerun"] = run_timed(
            [*run, "--utility", u, "--month", month],
            repeat,
            env=env,
            cwd=work,
            label=f"gridflow run --utility {u} --month {month}",
        )
        found["rerun_partition_s"] = partition_seconds(found["rerun"])
        found["bare_rerun"] = bare(
            "pipeline", str(landing), str(out), "--month", month, repeat=repeat
        )
        print("  timed: one-partition rerun, bare rerun", flush=True)
    found["startup"] = startup(warehouse, work, repeat)
    return found


def imports_of(args: list[str], env: dict, cwd: Path) -> float:
    """Seconds ``gridflow ARGS`` spends importing (``python -X importtime``)."""
    with tempfile.TemporaryFile() as err:
        subprocess.run(
            [PYTHON, "-X", "importtime", str(SCRIPT), *args],
            stdout=subprocess.DEVNULL,
            stderr=err,
            env=env,
            cwd=cwd,
            check=False,
        )
        err.seek(0)
        return import_seconds(err.read().decode(errors="replace"))


def dq_imports(warehouse: Path, env: dict, cwd: Path) -> float:
    return imports_of(["dq", "--warehouse", str(warehouse)], env, cwd)


TIMED_SHELL = r"""#!/bin/sh
# make's SHELL for the bench: runs each recipe line with /bin/sh and appends
# "start end exit-code line" to $BENCH_STEPS.
start=$(date +%s.%N)
/bin/sh "$@"
rc=$?
line=$(printf '%s' "$2" | tr '\t\n\\' '   ' | cut -c1-120)
printf '%s %s %s %s\n' "$start" "$(date +%s.%N)" "$rc" "$line" >> "$BENCH_STEPS"
exit $rc
"""


def step_name(text: str) -> str:
    """A recipe line's short name: ``.venv/bin/gridflow generate --utility X …`` → "generate
    X", ``.venv/bin/python -m pkg.mod …`` → "mod"."""
    words = text.split()
    if words.count("generate") > 1:  # one line starting the generators side by side
        return "generate, side by side"
    if len(words) > 2 and words[1] == "-m":
        return words[2].rsplit(".", 1)[-1]
    name = " ".join(w.rsplit("/", 1)[-1] for w in words[1:2]) or text[:20]
    if "--utility" in words[:-1]:
        name += " " + words[words.index("--utility") + 1]
    return name


def recipe_steps(path: Path) -> list[tuple[str, float]]:
    """``make demo``'s recipe lines as timed by :data:`TIMED_SHELL`: (short name, seconds)."""
    if not path.exists():
        return []
    steps = []
    for line in path.read_text().splitlines():
        start, end, _rc, text = line.split(" ", 3)
        steps.append((step_name(text), float(end) - float(start)))
    return steps


def measure_demo(workdir: Path, repeat: int, repeat_run: int) -> dict:
    """``make demo`` after install, from the repo root, into ``workdir`` (its landing,
    warehouse and reports exported; the instance is ``<warehouse>/.dagster_home``); then
    ``gridflow dq`` and a rerun of IESCO 2025-06 on its warehouse, beside the bare pipeline
    over the demo's IESCO drops."""
    demo = workdir / "demo"
    folders = {k: demo / k for k in ("landing", "warehouse", "reports")}
    env = gridflow_env(**folders)
    shell, steps = workdir / "timed-sh", workdir / "make-demo-steps"
    shell.write_text(TIMED_SHELL)
    shell.chmod(0o755)
    env["BENCH_STEPS"] = str(steps)
    found: dict = {"repeat": repeat, "repeat_run": repeat_run, "workers": None}
    found["rerun_key"] = DEMO_RERUN
    make = shutil.which("make") or "make"
    # -o: never (re)install inside the timing, even with a stamp older than pyproject.toml
    # (`make bench` itself installs first when needed)
    found["demo"] = run_timed(
        [make, "-o", ".venv/.installed", "demo", f"SHELL={shell}"],
        repeat_run,
        env=env,
        cwd=ROOT,
        before=fresh(demo, steps),
        label="make demo",
    )
    found["demo_steps"] = recipe_steps(steps)
    print("  timed: make demo", flush=True)
    landing, warehouse = folders["landing"], folders["warehouse"]
    out = workdir / "bare-out"
    found["bare_pipeline"] = bare(
        "pipeline", str(landing), str(out), repeat=repeat_run, before=fresh(out)
    )
    if found["demo"].error:
        return found
    env = gridflow_env(**folders, now=DEMO_NOW)
    found["dq"] = run_timed([*GRIDFLOW, "dq"], repeat, env=env, cwd=workdir, label="gridflow dq")
    found["dq_imports_s"] = dq_imports(warehouse, env, workdir)
    found["bare_dq"] = bare("dq", str(warehouse), repeat=repeat)
    u, month = DEMO_RERUN
    found["rerun"] = run_timed(
        [*GRIDFLOW, "run", "--utility", u, "--month", month],
        repeat,
        env=env,
        cwd=workdir,
        label=f"gridflow run --utility {u} --month {month}",
    )
    found["rerun_partition_s"] = partition_seconds(found["rerun"])
    found["bare_rerun"] = bare("pipeline", str(landing), str(out), "--month", month, repeat=repeat)
    found["startup"] = startup(warehouse, workdir, repeat)
    print("  timed: gridflow dq, rerun, bare scripts", flush=True)
    return found


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def load_average() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def machine_header() -> list[str]:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return [
        f"date: {now}; machine: {platform.machine()}, {os.cpu_count()} cores, {cpu_model()}",
        f"Python {platform.python_version()}, {platform.platform()}",
        f"load average (1, 5, 15 min) at start: {load_average()}",
    ]
