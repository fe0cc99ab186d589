"""The one place that changes how a dependency is imported: Great Expectations' SciPy and Altair.

``import great_expectations`` imports every core expectation. One of them,
``ExpectColumnKlDivergenceToBeLessThan``, imports SciPy's statistics and Altair when its module
loads, and two KS-test metrics import SciPy's statistics too: about 2 of the 4.5 s of CPU that
importing GX costs every process that validates (each ``bdw run``, each run the daemon launches).
None of the expectations this project builds (``bdw.quality.gx_runner.build_expectation``) uses
them.

``defer_unused`` makes those two imports lazy with the standard library's
``importlib.util.LazyLoader``: the module object exists at once, and the first use of any of its
names loads the real module. An expectation that needs them still works; it pays the import when
it first uses them, not every run. Call it before Great Expectations is first imported.

``tests/unit/test_gx_imports.py`` runs a real validation in a fresh interpreter and fails loudly
when an upgrade of Great Expectations starts using either module for our expectations (or when
the deferred modules stop working on use).
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Sequence
from types import ModuleType

DEFERRED = ("scipy.stats", "altair")  # loaded only when a name of theirs is first used


class _DeferringFinder(importlib.abc.MetaPathFinder):
    """Finds the deferred modules as the other finders would, then wraps their loader in a LazyLoader."""

    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if fullname not in DEFERRED:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = importlib.util.LazyLoader(spec.loader)
                return spec
        return None


def defer_unused() -> None:
    """Install the deferring finder once (before Great Expectations is imported: a module already
    imported stays as it is)."""
    if not any(isinstance(f, _DeferringFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _DeferringFinder())
