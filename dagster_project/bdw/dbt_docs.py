"""The dbt docs for analysts, published beside the warehouse as one self-contained page.

``dbt docs generate --static`` writes ``static_index.html``: the docs site with the manifest and
the catalog inlined, which opens from the file system. It loads nothing from the internet once
anonymous usage statistics are off (with them on, the page loads dbt's tracker from a CDN), so dbt
runs with ``--no-send-anonymous-usage-stats``. It runs against the working database (the catalog
reads its tables and columns) with a private ``--target-path`` under the workdir, apart from
dagster-dbt's.

Generating costs ~6 s with a warm partial parse and ~12 s cold, and the page only changes when
the dbt project (models, docs, seeds) or the tables and columns change. So the page is keyed by a
fingerprint of those: when a page for the same fingerprint exists (the workdir's last one, or one
in ``dbt/target/docs_cache/`` left by another run of the same project) it is copied instead.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import duckdb

from bdw.dbt_project import ensure_manifest, project_files
from bdw.publish import replace_atomically
from bdw.settings import DBT_PROJECT_DIR, Settings, dbt_executable

SHARED_CACHE = DBT_PROJECT_DIR / "target" / "docs_cache"
SHARED_CACHE_KEEP = 8  # pages kept in the shared cache, newest first


@dataclass(frozen=True)
class DocsResult:
    path: Path
    generated: bool  # False when an identical page was copied
    seconds: float
    fingerprint: str


def docs_path(warehouse: Path) -> Path:
    """``<warehouse dir>/<warehouse stem>_docs.html``."""
    return warehouse.with_name(f"{warehouse.stem}_docs.html")


def fingerprint(settings: Settings) -> str:
    """What the docs page depends on: dbt's version, every file of the dbt project and the seeds, and
    the working database's tables and columns with their types."""
    h = hashlib.sha256(f"dbt {version('dbt-core')} duckdb {version('dbt-duckdb')}\n".encode())
    for path in project_files():
        h.update(f"{path.relative_to(DBT_PROJECT_DIR.parent)}\n".encode())
        h.update(path.read_bytes())
    con = duckdb.connect(str(settings.work_db), read_only=True)
    try:
        columns = con.execute("SELECT table_schema, table_name, column_name, data_type FROM information_schema.columns "
                              "ORDER BY ALL").fetchall()
    finally:
        con.close()
    h.update(repr(columns).encode())
    return h.hexdigest()


def _docs_dir(settings: Settings) -> Path:
    return settings.workdir / "dbt_docs"


def generate(settings: Settings, target: Path) -> Path:
    """Run ``dbt docs generate --static`` into ``target``; returns the page."""
    target.mkdir(parents=True, exist_ok=True)
    # --no-compile reads the manifest from the target folder: the parsed project's (ensure_manifest)
    shutil.copyfile(ensure_manifest(), target / "manifest.json")
    cmd = [dbt_executable(), "--no-send-anonymous-usage-stats", "--no-use-colors", "docs", "generate", "--static",
           "--no-compile", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
           "--target-path", str(target), "--log-path", str(target / "logs")]
    done = subprocess.run(cmd, cwd=DBT_PROJECT_DIR, env={**os.environ, **settings.dbt_env()},
                          capture_output=True, text=True, check=False)
    page = target / "static_index.html"
    if done.returncode != 0 or not page.exists():
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
        raise RuntimeError(f"dbt docs generate failed (exit {done.returncode}):\n{tail}")
    return page


def publish_docs(settings: Settings) -> DocsResult:
    """Write ``<warehouse stem>_docs.html`` beside the warehouse (atomically), generating the page
    only when no page of the same fingerprint exists."""
    started = time.monotonic()
    key = fingerprint(settings)
    folder = _docs_dir(settings)
    page, key_file = folder / "docs.html", folder / "fingerprint"
    shared = SHARED_CACHE / f"{key}.html"
    generated = False
    if not (page.exists() and key_file.exists() and key_file.read_text().strip() == key):
        folder.mkdir(parents=True, exist_ok=True)
        if shared.exists():
            _copy(shared, page)
        else:
            _copy(generate(settings, folder / "target"), page)
            generated = True
            _store_shared(page, shared)
        key_file.write_text(key + "\n")
    out = docs_path(settings.warehouse)
    _copy(page, out)
    return DocsResult(out, generated, round(time.monotonic() - started, 1), key)


def _copy(src: Path, dst: Path) -> None:
    replace_atomically(dst, lambda tmp: shutil.copyfile(src, tmp))


def _store_shared(page: Path, shared: Path) -> None:
    """Keep the page for other runs of the same project; a read-only checkout just skips it."""
    try:
        shared.parent.mkdir(parents=True, exist_ok=True)
        _copy(page, shared)
        pages = sorted(shared.parent.glob("*.html"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in pages[SHARED_CACHE_KEEP:]:
            old.unlink(missing_ok=True)
    except OSError:
        pass
