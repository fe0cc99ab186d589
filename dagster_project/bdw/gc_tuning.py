"""Python's cyclic garbage collector, tuned for this project's processes.

CPython runs a collection of its youngest objects every 700 net allocations, and every tenth of
those a collection of the middle generation; the oldest is walked whole now and then. A ``bdw run``
imports Dagster, dbt and Great Expectations and then holds Dagster's definitions and dbt's manifest:
hundreds of thousands of objects that live as long as the process, walked again and again for
almost no garbage (what that cost, measured: docs/decisions.md).

``tune`` raises the first threshold to 20,000 allocations: the youngest generation is collected
about 30 times less often, the oldest rarely. Cyclic garbage waits a little longer to be freed
(at most some 20,000 objects, a few megabytes); everything else is freed by reference counting as
before. Called where this project's processes start their work: ``bdw`` (``bdw.cli.main``), the dbt
process of a run (``bdw.dbt_warm.serve``) and a run the daemon or the UI launched (its settings
resource, ``bdw.resources.BdwSettings``). Standard library only: the dbt process imports it.
"""

from __future__ import annotations

import gc

THRESHOLDS = (20_000, 10, 10)  # CPython's defaults: (700, 10, 10)


def tune() -> None:
    """Set the collector's thresholds for a process that holds large, long-lived object graphs."""
    gc.set_threshold(*THRESHOLDS)
