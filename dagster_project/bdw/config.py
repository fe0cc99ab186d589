"""Settings in one place: paths, the DuckDB files and per-source policies.

Every path the project uses is derived here. Environment variables override the defaults so the
same code serves the demo, the tests, Dagster and a production install:

- ``BDW_INBOX``      the inbox folder (default ``data/inbox``)
- ``BDW_WAREHOUSE``  the published DuckDB file analysts read (default ``data/warehouse.duckdb``)
- ``BDW_WORKDIR``    private state: the working database dbt builds into, quarantine, run logs
                     (default: ``.bdw`` beside the warehouse)
- ``BDW_CONFIG_DIR`` the config folder with ``bdw.yml`` and ``profiles/`` (default ``config``)

The working database's path is exported to dbt as ``BDW_DUCKDB_PATH``: it is the single
DuckDB path setting shared by dbt's profile and Dagster's resources.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bdw.contract import SOURCES, Policy

REPO_ROOT = Path(__file__).resolve().parents[2]
DBT_PROJECT_DIR = REPO_ROOT / "dbt"
SEEDS_DIR = REPO_ROOT / "seeds"
DEFAULT_CONFIG_DIR = REPO_ROOT / "config"
SHIPPED_PROFILES_DIR = DEFAULT_CONFIG_DIR / "profiles"

DUCKDB_PATH_ENV = "BDW_DUCKDB_PATH"


def dbt_executable() -> str:
    """dbt from this interpreter's environment, so an unactivated venv still finds it."""
    beside = Path(sys.executable).parent / "dbt"
    return str(beside) if beside.exists() else "dbt"


@dataclass(frozen=True)
class Settings:
    inbox: Path
    warehouse: Path
    workdir: Path
    config_dir: Path = DEFAULT_CONFIG_DIR
    policies: dict[str, Policy] = field(default_factory=dict)
    profile: str | None = None  # a mapping profile applied to every source of the run

    @property
    def work_db(self) -> Path:
        """The private database every run ingests into and dbt builds; never read by analysts."""
        return self.workdir / "work.duckdb"

    @property
    def quarantine_dir(self) -> Path:
        return self.workdir / "quarantine"

    @property
    def profile_dirs(self) -> tuple[Path, ...]:
        """User profiles first, so a user can override a shipped one by name."""
        return tuple(dict.fromkeys((self.config_dir / "profiles", SHIPPED_PROFILES_DIR)))

    def policy(self, source: str) -> Policy:
        return self.policies.get(source, SOURCES[source].policy)

    def dbt_env(self) -> dict[str, str]:
        return {DUCKDB_PATH_ENV: str(self.work_db)}


def load_settings(
    inbox: str | os.PathLike | None = None,
    warehouse: str | os.PathLike | None = None,
    workdir: str | os.PathLike | None = None,
    profile: str | None = None,
) -> Settings:
    """Arguments win over environment variables, which win over the defaults."""
    warehouse_path = Path(warehouse or os.environ.get("BDW_WAREHOUSE") or REPO_ROOT / "data" / "warehouse.duckdb")
    warehouse_path = warehouse_path.resolve()
    config_dir = Path(os.environ.get("BDW_CONFIG_DIR") or DEFAULT_CONFIG_DIR).resolve()
    cfg_file = config_dir / "bdw.yml"
    cfg = (yaml.safe_load(cfg_file.read_text(encoding="utf-8")) or {}) if cfg_file.exists() else {}
    policies: dict[str, Policy] = {}
    for name, policy in (cfg.get("policies") or {}).items():
        if name not in SOURCES:
            raise ValueError(f"{cfg_file}: policies names an unknown source {name!r}")
        if policy not in ("file", "row"):
            raise ValueError(f"{cfg_file}: policy of {name} must be 'file' or 'row', not {policy!r}")
        policies[name] = policy
    return Settings(
        inbox=Path(inbox or os.environ.get("BDW_INBOX") or REPO_ROOT / "data" / "inbox").resolve(),
        warehouse=warehouse_path,
        workdir=Path(workdir or os.environ.get("BDW_WORKDIR") or warehouse_path.parent / ".bdw").resolve(),
        config_dir=config_dir,
        policies=policies,
        profile=profile or cfg.get("profile"),
    )
