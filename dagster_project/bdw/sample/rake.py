"""Iterative proportional fitting: scale positive weights until group sums hit their targets."""

from __future__ import annotations

import numpy as np

Partition = tuple[np.ndarray, np.ndarray]  # (group label per cell, -1 = not in it; target per group)


def rake(x: np.ndarray, partitions: list[Partition], iterations: int = 500, tol: float = 1e-10) -> np.ndarray:
    """Return x scaled so that, for every partition, the sum of each group equals its target.

    Groups whose cells sum to zero are left alone (no cell can carry their target).
    """
    x = np.asarray(x, dtype=float).copy()
    for _ in range(iterations):
        worst = 0.0
        for labels, targets in partitions:
            m = labels >= 0
            sums = np.bincount(labels[m], weights=x[m], minlength=len(targets))
            factor = np.divide(targets, sums, out=np.ones_like(sums), where=sums > 0)
            x[m] *= factor[labels[m]]
            worst = max(worst, float(np.max(np.abs(factor - 1.0), initial=0.0)))
        if worst < tol:
            break
    return x
