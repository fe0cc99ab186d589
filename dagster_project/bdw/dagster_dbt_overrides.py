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
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path

from dagster_dbt import DbtCliResource
from packaging import version

from bdw.settings import environment_script

UPSTREAM_MEMBERS = ("_cli_version", "_initialize_dbt_core_adapter")


class BdwDbtCliResource(DbtCliResource):
    """dagster-dbt's resource without its per-invocation start-up work (see the module doc)."""

    @cached_property
    def _cli_version(self) -> version.Version:
        if Path(self.dbt_executable) == environment_script("dbt"):
            return version.parse(importlib.metadata.version("dbt-core"))
        return DbtCliResource._cli_version.func(self)

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:  # noqa: ARG002
        return None
