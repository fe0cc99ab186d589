"""A dbt process started early: it imports dbt and parses the project while ingestion runs.

A run's dbt step used to start ``dbt build`` only when ingestion had finished, and the first
seconds of that process are the same every night: importing dbt (~4 s of CPU) and parsing the
project (~1 s with the working folder's saved parse state, ~4 s without). None of it needs the
night's data, and while ingestion works on one core the second is idle. So ``bdw run`` starts this
process first (``start_for_run``); it imports dbt, parses the project into the dbt step's target
folder, then waits on its standard input. A run the daemon or the UI launched starts it in its dbt
step, without that overlap but from the same shared parse state (bdw.dbt_targets). The dbt step
hands it the command dagster-dbt would have run (``WarmDbt.hand_over``, through
``bdw.dagster_dbt_overrides.serving``): the arguments, environment and folder of that command.
The process then runs it in-process with the parsed manifest (``dbtRunner(manifest=...)``, dbt's
documented way of reusing a parse) and exits with dbt's own exit codes, writing dbt's JSON log
lines to the same pipe, so dagster-dbt reads it as the process it would have started.

A run that never reaches the dbt step (a failed ingestion) ends the waiting process (``discard``);
a waiting process whose parent died sees its standard input close and exits.

Run as ``python -m bdw.dbt_warm PROJECT_DIR PROFILES_DIR TARGET_PATH``. The server half imports
only dbt and the standard library.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from bdw import gc_tuning

if TYPE_CHECKING:
    from bdw.settings import Settings

# dbt's exit codes (dbt.cli.exceptions / the ``dbt`` command): 1 a node failed, 2 dbt itself failed
EXIT_OK, EXIT_FAILED, EXIT_ERROR = 0, 1, 2
PARSE_LOG = "warm_parse.log"  # in the target folder: dbt's output while it parsed


@dataclass
class WarmDbt:
    """A started dbt process waiting for its command, and the target folder it parsed into."""

    process: subprocess.Popen
    workdir: Path
    target: Path
    handed_over: bool = field(default=False)

    def hand_over(self, args: Sequence[str], env: Mapping[str, str], cwd: str | os.PathLike[str]) -> subprocess.Popen:
        """Give the waiting process the dbt command to run; it is then that command's process."""
        request = {"args": list(args), "env": dict(env), "cwd": os.fspath(cwd)}
        assert self.process.stdin is not None
        self.process.stdin.write((json.dumps(request) + "\n").encode())
        self.process.stdin.close()
        self.handed_over = True
        return self.process

    def parse_output(self) -> str:
        """What dbt wrote while it parsed (warnings, "Unable to do partial parsing ..."): for the
        run log, after the command ran (the parse has finished by then)."""
        path = self.target / PARSE_LOG
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""

    def discard(self) -> None:
        """End the process if it never got its command (the run stopped before its dbt step)."""
        if self.handed_over:
            return
        with contextlib.suppress(OSError):
            self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()


_lock = threading.Lock()
_waiting: dict[Path, WarmDbt] = {}  # by working folder: the process waiting for that folder's dbt step


def start(workdir: Path, target: Path, env: Mapping[str, str], waiting: bool = True) -> WarmDbt:
    """Start the dbt process of the coming dbt step on ``workdir``: it parses into ``target``
    (seeded with the machine's shared parse state, ``bdw.dbt_targets.invocation_target``) with
    ``env`` (placeholders for dbt's profile: ``bdw.dbt_targets.PARSE_ONLY_ENV``). ``waiting``: it
    waits for the step to ``claim`` it; else the caller is the step and uses it at once."""
    from bdw.settings import DBT_PROJECT_DIR

    process = subprocess.Popen(
        [sys.executable, "-m", "bdw.dbt_warm", str(DBT_PROJECT_DIR), str(DBT_PROJECT_DIR), str(target)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        env={**os.environ, **env, "PYTHONUNBUFFERED": "1"}, cwd=DBT_PROJECT_DIR)
    warm = WarmDbt(process, workdir.resolve(), target)
    if not waiting:
        return warm
    with _lock:
        previous = _waiting.pop(warm.workdir, None)
        _waiting[warm.workdir] = warm
    if previous is not None:
        previous.discard()
    return warm


def start_for_run(settings: Settings, step: str, run_id: str, waiting: bool = True) -> WarmDbt:
    """The dbt process of run ``run_id``'s dbt step ``step``, started now: it parses into the target
    folder the step will use, from the machine's shared parse state (bdw.dbt_targets). ``bdw run``
    starts it first thing, so that dbt imports and parses while ingestion runs; a run the daemon or
    the UI launched starts it in its dbt step (bdw.assets.dbt)."""
    from bdw.dbt_targets import PARSE_ONLY_ENV, invocation_target
    from bdw.run_context import export_environment

    export_environment(settings)
    return start(settings.workdir, invocation_target(step, run_id), PARSE_ONLY_ENV, waiting)


def claim(workdir: Path) -> WarmDbt | None:
    """The process waiting for ``workdir``'s dbt step, if one was started and is still alive."""
    with _lock:
        warm = _waiting.pop(workdir.resolve(), None)
    if warm is not None and warm.process.poll() is not None:  # it died (parse crash): start dbt as usual
        warm.discard()
        return None
    return warm


def release(warm: WarmDbt) -> None:
    """After the run: end ``warm`` if its dbt step never claimed it."""
    with _lock:
        if _waiting.get(warm.workdir) is warm:
            del _waiting[warm.workdir]
    warm.discard()


# -- the server half: runs in the started process ----------------------------------------------------


def _parse(project_dir: str, profiles_dir: str, target: str):
    """dbt's manifest of the project, or None when the parse failed (the build then parses and
    reports the error itself). dbt's output goes to :data:`PARSE_LOG` in the target folder, not to
    the pipe dagster-dbt reads later (``WarmDbt.parse_output`` gives it to the run log)."""
    from dbt.cli.main import dbtRunner

    saved = os.dup(1), os.dup(2)
    with open(Path(target) / PARSE_LOG, "wb") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            # no manifest.json: nothing reads the invocation folder's (dagster-dbt has the project's,
            # bdw.dbt_project), and writing it costs a third of a partial parse
            result = dbtRunner().invoke(["--no-send-anonymous-usage-stats", "parse", "--no-write-json",
                                         "--project-dir", project_dir, "--profiles-dir", profiles_dir,
                                         "--target-path", target, "--log-path", target])
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
    return result.result if result.success else None


def serve(project_dir: str, profiles_dir: str, target: str) -> int:
    """Parse, wait for the command, run it with the parsed manifest; dbt's exit code."""
    gc_tuning.tune()
    manifest = _parse(project_dir, profiles_dir, target)
    line = sys.stdin.readline()
    if not line:  # the run ended without a dbt step, or its process died
        return EXIT_OK
    request = json.loads(line)
    os.environ.clear()
    os.environ.update(request["env"])
    os.chdir(request["cwd"])
    from dbt.cli.main import dbtRunner

    result = dbtRunner(manifest=manifest).invoke(request["args"][1:])  # [0] is the dbt executable
    if result.success:
        return EXIT_OK
    if result.exception is not None:
        print(f"dbt failed: {type(result.exception).__name__}: {result.exception}", flush=True)
        return EXIT_ERROR
    return EXIT_FAILED


if __name__ == "__main__":
    code = serve(*sys.argv[1:4])
    sys.stdout.flush()
    sys.exit(code)
