"""Named points where the crash-safety tests kill the process (``BDW_FAULT_POINT=<name>``).

A run killed at any point must leave the published warehouse valid and unchanged and nothing that
stops the next run. The tests prove it by setting ``BDW_FAULT_POINT`` for a ``bdw run``
subprocess; in normal operation the variable is unset and each point is a dictionary lookup.
"""

import os
import signal

from bdw.settings import fault_point as configured_fault_point

POINTS = (
    "ingest:mid_file",  # inside a source's load transaction (its new files' rows), before commit
    "ingest:file_loaded",  # after a source's load transaction committed
    "dbt:running",  # while dbt build runs (its first event)
    "checks:running",  # as the Great Expectations validation step starts
    "publish:copied",  # the new copy is written, not yet swapped in
    "publish:linked",  # the current file is linked as previous, the new one not yet in place
)


def fault_point(name: str) -> None:
    if configured_fault_point() == name:
        os.kill(os.getpid(), signal.SIGKILL)
