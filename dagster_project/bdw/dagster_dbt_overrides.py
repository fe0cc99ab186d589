"""The one place that overrides a dependency's internals: dagster-dbt's ``DbtCliResource``.

dagster-dbt pays two start-up costs on every ``dbt.cli(...)`` call (~5 s of each run's dbt step,
before dbt itself starts):

- ``dbt --version`` in a subprocess (~3 s: it imports all of dbt) to tell dbt Core from Fusion;
  the dbt of this project's environment is the dbt-core package installed here, so its version is
  read from the package metadata instead;
- an in-process dbt adapter with every dbt macro loaded (~2 s), which dagster-dbt only uses for
  ``fetch_row_counts()`` / ``fetch_column_metadata()``; this project calls neither, so none is
  made (dagster-dbt runs without one when making it fails).

Both override private methods of dagster-dbt 0.29 (pinned in uv.lock). ``UPSTREAM_MEMBERS`` lists
them; ``tests/integration/test_definitions.py::test_dbt_resource_skips_start_up_work`` fails loudly
when an upgrade renames or drops one, so the override never silently stops working.

``serving`` hands the dbt command of one ``dbt.cli(...)`` call to a dbt process started earlier
(bdw.dbt_warm) instead of a new one: dagster-dbt starts dbt with ``subprocess.Popen`` in its
module ``dagster_dbt.core.dbt_cli_invocation`` (``UPSTREAM_POPEN``), and for the length of the call
that module's ``subprocess`` is one whose ``Popen`` returns the waiting process.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import subprocess
from collections.abc import Iterator, Sequence
from functools import cached_property
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING

from dagster_dbt import DbtCliResource
from packaging import version

from bdw.settings import environment_script

if TYPE_CHECKING:
    from bdw.dbt_warm import WarmDbt

UPSTREAM_MEMBERS = ("_cli_version", "_initialize_dbt_core_adapter")
UPSTREAM_POPEN = ("dagster_dbt.core.dbt_cli_invocation", "subprocess")  # module, and its name for subprocess


class BdwDbtCliResource(DbtCliResource):
    """dagster-dbt's resource without its per-invocation start-up work (see the module doc)."""

    @cached_property
    def _cli_version(self) -> version.Version:
        if Path(self.dbt_executable) == environment_script("dbt"):
            return version.parse(importlib.metadata.version("dbt-core"))
        return DbtCliResource._cli_version.func(self)

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:  # noqa: ARG002
        return None


@contextlib.contextmanager
def serving(warm: WarmDbt) -> Iterator[None]:
    """Within this block, the dbt process dagster-dbt starts is ``warm`` (bdw.dbt_warm): its first
    ``Popen`` gets the waiting process with the command's arguments, environment and folder."""
    import importlib

    module = importlib.import_module(UPSTREAM_POPEN[0])
    real = getattr(module, UPSTREAM_POPEN[1])

    def popen(args: Sequence[str], *, env: dict[str, str], cwd: str, **kwargs) -> subprocess.Popen:
        if warm.handed_over:
            return real.Popen(args, env=env, cwd=cwd, **kwargs)
        return warm.hand_over(args, env, cwd)

    setattr(module, UPSTREAM_POPEN[1], SimpleNamespace(Popen=popen, PIPE=real.PIPE, STDOUT=real.STDOUT))
    try:
        yield
    finally:
        setattr(module, UPSTREAM_POPEN[1], real)
