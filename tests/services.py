"""Helpers of the tests that start Dagster's real processes (the daemon, the webserver, ``dagster
dev``) the way an operator does: the systemd units of ``deploy/`` read as systemd reads them, a
process group per service that is always stopped, free local ports, and Dagster's GraphQL API (what
the UI itself calls)."""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from conftest import REPO

DEPLOY = REPO / "deploy"
INSTALL_DIR = "/opt/bdw"  # where the units expect the repository (docs/operations.md)
LOCATION = {"repositoryLocationName": "bdw", "repositoryName": "__repository__"}
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class Unit:
    """What a systemd unit's [Service] section says about starting its process."""

    working_directory: Path
    environment_file: str
    exec_start: list[str]


def read_unit(path: Path, install_dir: Path = REPO) -> Unit:
    """The unit's WorkingDirectory, EnvironmentFile and ExecStart, with the install folder
    (/opt/bdw) replaced by ``install_dir``: this checkout."""
    values: dict[str, str] = {}
    section = ""
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line
        elif section == "[Service]" and "=" in line:
            key, value = line.split("=", 1)
            values[key.strip()] = value.strip().replace(INSTALL_DIR, str(install_dir))
    return Unit(Path(values["WorkingDirectory"]), values["EnvironmentFile"], shlex.split(values["ExecStart"]))


def read_environment_file(text: str) -> dict[str, str]:
    """KEY=value lines, as systemd's EnvironmentFile= reads them: comments and blank lines skipped,
    a value in quotes taken without them."""
    env = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith(("#", ";")) and "=" in line:
            key, value = line.split("=", 1)
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                value = value[1:-1]
            env[key.strip()] = value
    return env


def environment_file(path: Path, **overrides: str) -> dict[str, str]:
    """deploy/bdw.env.example with ``overrides`` (this test's folders and ports), written to ``path``
    as an operator writes /etc/bdw/bdw.env; returns its variables as systemd reads them back."""
    example = read_environment_file((DEPLOY / "bdw.env.example").read_text(encoding="utf-8"))
    lines = [f'{k}="{v}"' if " " in v else f"{k}={v}" for k, v in {**example, **overrides}.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return read_environment_file(path.read_text(encoding="utf-8"))


def dagster_home(path: Path) -> Path:
    """DAGSTER_HOME as docs/operations.md makes it: a folder holding deploy/dagster.yaml."""
    path.mkdir(parents=True, exist_ok=True)
    (path / "dagster.yaml").write_bytes((DEPLOY / "dagster.yaml").read_bytes())
    return path


@contextlib.contextmanager
def service(cmd: list[str], env: dict[str, str], cwd: Path, log: Path) -> Iterator[subprocess.Popen]:
    """``cmd`` started with exactly ``env`` (``env -i``: nothing inherited, no PATH to .venv) in a
    process group of its own, stopped with everything it started when the block ends."""
    with log.open("wb") as out:
        proc = subprocess.Popen(["env", "-i", *(f"{k}={v}" for k, v in env.items()), *cmd], cwd=cwd,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            yield proc
        finally:
            stop_group(proc)


def stop_group(proc: subprocess.Popen, grace: float = 20.0) -> None:
    """SIGTERM to the process group (as systemd stops a unit), SIGKILL to what is left after ``grace``."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and _group_alive(proc.pid):
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=0.5)
        if proc.poll() is not None and not _group_alive(proc.pid):
            break
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def wait_for(what: str, probe: Callable[[], T | None], timeout: float, log: Path | None = None,
             interval: float = 1.0) -> T:
    """``probe()``'s first true value within ``timeout`` seconds; else the test fails saying what it
    waited for, with the end of the service's log."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-4000:] if log and log.exists() else ""
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}\n{tail}")
        time.sleep(interval)


class GraphQL:
    """Dagster's GraphQL API at ``http://127.0.0.1:<port>/graphql``, the one the UI calls."""

    def __init__(self, port: int):
        self.url = f"http://127.0.0.1:{port}"

    def __call__(self, query: str, **variables: object) -> dict:
        body = json.dumps({"query": query, "variables": variables}).encode()
        req = urllib.request.Request(f"{self.url}/graphql", data=body, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as resp:
            answer = json.loads(resp.read())
        assert "errors" not in answer, answer["errors"]
        return answer["data"]

    def loaded(self) -> bool:
        """The webserver answers and has loaded the bdw code location."""
        try:
            data = self("{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus "
                        "locationOrLoadError { __typename } } } } }")
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False
        entries = data["workspaceOrError"]["locationEntries"]
        return any(e["name"] == "bdw" and e["loadStatus"] == "LOADED"
                   and e["locationOrLoadError"]["__typename"] == "RepositoryLocation" for e in entries)

    def runs(self, tags: dict[str, str] | None = None) -> list[dict]:
        """Runs, newest first: id, status and tags."""
        flt = {"tags": [{"key": k, "value": v} for k, v in (tags or {}).items()]}
        data = self("query Runs($filter: RunsFilter) { runsOrError(filter: $filter) { ... on Runs { results { "
                    "runId status jobName tags { key value } } } } }", filter=flt)
        return data["runsOrError"]["results"]

    def run_status(self, run_id: str) -> str:
        data = self("query Run($runId: ID!) { runOrError(runId: $runId) { __typename ... on Run { status } } }",
                    runId=run_id)
        return data["runOrError"]["status"]

    def launch_job(self, job: str) -> str:
        """Launch ``job`` with the mutation the UI's Launch button sends; returns the run id."""
        data = self("""mutation LaunchPipelineExecution($executionParams: ExecutionParams!) {
            launchPipelineExecution(executionParams: $executionParams) {
              __typename
              ... on LaunchRunSuccess { run { runId } }
              ... on PythonError { message }
              ... on InvalidSubsetError { message }
              ... on RunConfigValidationInvalid { errors { message } }
            } }""", executionParams={"selector": {**LOCATION, "jobName": job}, "runConfigData": {}})
        result = data["launchPipelineExecution"]
        assert result["__typename"] == "LaunchRunSuccess", result
        return result["run"]["runId"]

    def stop_sensor(self, name: str) -> str:
        state = self("query S($s: SensorSelector!) { sensorOrError(sensorSelector: $s) { ... on Sensor { "
                     "sensorState { id } } } }", s={**LOCATION, "sensorName": name})
        data = self("mutation Stop($id: String) { stopSensor(id: $id) { __typename ... on StopSensorMutationResult "
                    "{ instigationState { status } } } }", id=state["sensorOrError"]["sensorState"]["id"])
        return data["stopSensor"]["instigationState"]["status"]

    def start_sensor(self, name: str) -> str:
        data = self("mutation Start($s: SensorSelector!) { startSensor(sensorSelector: $s) { __typename "
                    "... on Sensor { sensorState { status } } } }", s={**LOCATION, "sensorName": name})
        return data["startSensor"]["sensorState"]["status"]

    def schedule_status(self, name: str) -> str:
        data = self("query S($s: ScheduleSelector!) { scheduleOrError(scheduleSelector: $s) { ... on Schedule { "
                    "scheduleState { status } } } }", s={**LOCATION, "scheduleName": name})
        return data["scheduleOrError"]["scheduleState"]["status"]

    def schedule_tick_done(self, name: str, run_id: str) -> bool:
        """Whether the schedule's tick that launched ``run_id`` has finished (the daemon has recorded it)."""
        data = self("query S($s: ScheduleSelector!) { scheduleOrError(scheduleSelector: $s) { ... on Schedule { "
                    "scheduleState { ticks(limit: 5) { status runIds } } } } }", s={**LOCATION, "scheduleName": name})
        ticks = data["scheduleOrError"]["scheduleState"]["ticks"]
        return any(t["status"] == "SUCCESS" and run_id in t["runIds"] for t in ticks)

    def stop_schedule(self, name: str) -> str:
        state = self("query S($s: ScheduleSelector!) { scheduleOrError(scheduleSelector: $s) { ... on Schedule { "
                     "scheduleState { id } } } }", s={**LOCATION, "scheduleName": name})
        data = self("mutation Stop($id: String) { stopRunningSchedule(id: $id) { __typename "
                    "... on ScheduleStateResult { scheduleState { status } } } }",
                    id=state["scheduleOrError"]["scheduleState"]["id"])
        return data["stopRunningSchedule"]["scheduleState"]["status"]

    def start_schedule(self, name: str) -> str:
        data = self("mutation Start($s: ScheduleSelector!) { startSchedule(scheduleSelector: $s) { __typename "
                    "... on ScheduleStateResult { scheduleState { status } } } }",
                    s={**LOCATION, "scheduleName": name})
        return data["startSchedule"]["scheduleState"]["status"]

    def check_executions(self, asset: list[str], check: str) -> list[dict]:
        """The newest executions of one asset check: run id, status and whether it passed."""
        data = self("query C($a: AssetKeyInput!, $c: String!) { assetCheckExecutions(assetKey: $a, checkName: $c, "
                    "limit: 5) { runId status evaluation { success } } }", a={"path": asset}, c=check)
        return data["assetCheckExecutions"]


def wait_for_run(gql: GraphQL, run_id: str, timeout: float, log: Path | None = None) -> str:
    """The run's final status (SUCCESS, FAILURE, CANCELED) once it has one."""
    final = {"SUCCESS", "FAILURE", "CANCELED"}
    return wait_for(f"run {run_id} to finish", lambda: (s := gql.run_status(run_id)) in final and s, timeout, log)
