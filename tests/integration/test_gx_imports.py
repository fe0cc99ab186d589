"""Great Expectations imported with SciPy's statistics and Altair deferred (bdw.quality.gx_imports):
a real validation and its Data Docs, in a fresh interpreter, load neither; both still work when used.
If an upgrade of Great Expectations starts using them for our expectations, this fails."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = r"""
import datetime as dt, sys, tempfile
from pathlib import Path

import pandas as pd

from bdw.quality.gx_runner import preload, run_suites
from bdw.quality.rules import completeness_rules, validity_rules
from bdw.quality.thresholds import load_quality_config

# a submodule of each that only their real import brings
REAL = {"scipy.stats": "scipy.stats._stats_py", "altair": "altair.vegalite"}
preload()
assert {"scipy.stats", "altair"} <= set(sys.modules), "Great Expectations no longer imports them: drop the deferral"
cfg = load_quality_config()
rule = next(r for r in validity_rules(cfg) if r.name == "end_date_plausible")
filled = next(r for r in completeness_rules(cfg) if r.table == "accounts")
snapshot = pd.DataFrame({"contract_id": ["C1", "C2"], "row_ref": ["contract C1", "contract C2"],
                         "end_date": pd.Series([dt.date(2026, 1, 1), dt.date(2200, 1, 1)], dtype="datetime64[ns]")})
accounts = pd.DataFrame({"account_id": ["A1", "A2"], "row_ref": ["account A1", "account A2"],
                         filled.column: ["x", None]})
work = Path(tempfile.mkdtemp())
results, docs = run_suites({"contracts": snapshot, "accounts": accounts}, [rule, filled], cfg, workdir=work / "work",
                           docs_dir=work / "docs", run_name="deferred", reference=dt.date(2026, 11, 26))
assert [(r.success, r.unexpected_count, r.error) for r in results] == [(False, 1, None), (False, 1, None)], results
assert docs and (work / "docs" / "index.html").exists()
assert not [real for real in REAL.values() if real in sys.modules], [r for r in REAL.values() if r in sys.modules]
from scipy import stats
import altair
assert stats.norm.cdf(0.0) == 0.5 and altair.Chart is not None
assert all(real in sys.modules for real in REAL.values())
print("ok")
"""


def test_a_validation_loads_neither_scipy_stats_nor_altair_and_both_load_when_used():
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stdout[-3000:] + done.stderr[-3000:]
