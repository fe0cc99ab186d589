"""Settings in one place: every path the project uses, and every environment variable it reads.

No other module reads ``os.environ`` for a ``BDW_*`` setting: they call the functions here. The
environment overrides the defaults, so the same code serves the demo, the tests, Dagster and a
production install:

==============================  =================================================================
``BDW_INBOX``                   the inbox folder (default ``data/inbox``)
``BDW_WAREHOUSE``               the published DuckDB file analysts read (``data/warehouse.duckdb``)
``BDW_WORKDIR``                 private state: the working database, quarantine, run logs
                                (default ``.bdw`` beside the warehouse)
``BDW_CONFIG_DIR``              the config folder: ``bdw.yml``, ``profiles/``, ``quality.yml``,
                                ``alerts.yml`` (default ``config``)
``BDW_AS_OF``                   "today" for a run (default: the date of the newest inbox file)
``BDW_SCHEDULE_CRON``           the nightly schedule (default ``0 2 * * *``)
``BDW_SCHEDULE_TIMEZONE``       its time zone (default ``Asia/Shanghai``)
``BDW_SENSOR_INTERVAL_SECONDS`` how often the inbox sensor looks for new files (default 60)
``BDW_ALERTS_CONFIG``           the alert channels' file (default ``<config dir>/alerts.yml``,
                                else the shipped ``config/alerts.example.yml``)
``BDW_ALERT_LOG``               the alert log, JSON lines (default ``alerts.jsonl`` beside the
                                warehouse)
``BDW_FAULT_POINT``             tests only: the named point where a run kills itself
``BDW_DUCKDB_PATH``             set by the project, not by users: the working database's path,
                                exported to dbt's ``profiles.yml`` when a run starts
``BDW_DUCKDB_MEMORY_LIMIT``     likewise: ``limits.memory`` of ``bdw.yml``, for dbt's connection
``BDW_DUCKDB_TEMP_DIRECTORY``   likewise: where dbt's DuckDB spills (``<workdir>/tmp/duckdb``)
``DAGSTER_HOME``                Dagster's own: the persistent instance (run history, asset
                                materialisations, check results) that ``bdw run`` records into
                                when it is set; read here so that ``bdw`` reads no variable elsewhere
==============================  =================================================================

The alert channels' variables (secrets: one Apprise URL each) are read here too, by the name
``alerts.yml`` gives: ``secret(name)``. The alert variables of earlier versions are no longer read;
``retired_alert_variables()`` names those still set, so the user is told.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import sys
import sysconfig
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bdw.contract import SOURCES, Policy
from bdw.quality.freshness import CADENCE_MAX_AGE_DAYS, DEFAULT_RULES, FreshnessRule, resolve_rules

REPO_ROOT = Path(__file__).resolve().parents[2]
DBT_PROJECT_DIR = REPO_ROOT / "dbt"
SEEDS_DIR = REPO_ROOT / "seeds"
DEFAULT_CONFIG_DIR = REPO_ROOT / "config"
SHIPPED_ALERTS_CONFIG = DEFAULT_CONFIG_DIR / "alerts.example.yml"
SHIPPED_PROFILES_DIR = DEFAULT_CONFIG_DIR / "profiles"

INBOX_ENV = "BDW_INBOX"
WAREHOUSE_ENV = "BDW_WAREHOUSE"
WORKDIR_ENV = "BDW_WORKDIR"
CONFIG_DIR_ENV = "BDW_CONFIG_DIR"
AS_OF_ENV = "BDW_AS_OF"
SCHEDULE_CRON_ENV = "BDW_SCHEDULE_CRON"
SCHEDULE_TIMEZONE_ENV = "BDW_SCHEDULE_TIMEZONE"
SENSOR_INTERVAL_ENV = "BDW_SENSOR_INTERVAL_SECONDS"
ALERTS_CONFIG_ENV = "BDW_ALERTS_CONFIG"
ALERT_LOG_ENV = "BDW_ALERT_LOG"
FAULT_POINT_ENV = "BDW_FAULT_POINT"
DUCKDB_PATH_ENV = "BDW_DUCKDB_PATH"
WORK_DB_NAME = "work.duckdb"  # the working database in the working folder; dbt names its database "work" after it
DUCKDB_MEMORY_LIMIT_ENV = "BDW_DUCKDB_MEMORY_LIMIT"
DUCKDB_TEMP_DIRECTORY_ENV = "BDW_DUCKDB_TEMP_DIRECTORY"
DAGSTER_HOME_ENV = "DAGSTER_HOME"

DEFAULT_CRON = "0 2 * * *"
DEFAULT_TIMEZONE = "Asia/Shanghai"
DEFAULT_SENSOR_INTERVAL = 60


def _env(name: str) -> str | None:
    value = os.environ.get(name)
    return value.strip() if value and value.strip() else None


def secret(name: str | None) -> str | None:
    """The value of the environment variable ``name`` (an alert channel's URL or password), or None.
    Secrets come from the environment only, never from a file of the project."""
    return _env(name) if name else None


# the alert settings of earlier versions (our own SMTP and webhook code), replaced by Apprise URLs
RETIRED_ALERT_VARIABLES = (
    "BDW_ALERT_WEBHOOK_URL", "BDW_ALERT_SMTP_HOST", "BDW_ALERT_SMTP_PORT", "BDW_ALERT_SMTP_USER",
    "BDW_ALERT_SMTP_PASSWORD", "BDW_ALERT_SMTP_SECURITY", "BDW_ALERT_EMAIL_FROM", "BDW_ALERT_EMAIL_TO",
)


def retired_alert_variables() -> tuple[str, ...]:
    """The retired alert variables that are still set (their values are never read)."""
    return tuple(name for name in RETIRED_ALERT_VARIABLES if _env(name))


def alerts_config_path(config_folder: Path) -> tuple[Path, bool]:
    """The alert channels' file and whether the user chose it: ``BDW_ALERTS_CONFIG``, else
    ``alerts.yml`` in the config folder, else the shipped example (chosen by no one: its channels
    are off until their variables are set)."""
    chosen = _env(ALERTS_CONFIG_ENV)
    if chosen:
        return Path(chosen), True
    own = config_folder / "alerts.yml"
    return (own, True) if own.exists() else (SHIPPED_ALERTS_CONFIG, False)


def alert_log_path() -> Path | None:
    """``BDW_ALERT_LOG``: where the alert log goes, if not beside the warehouse."""
    value = _env(ALERT_LOG_ENV)
    return Path(value) if value else None


def environment_script(name: str) -> Path | None:
    """A console script of this interpreter's environment (``.venv/bin/<name>``), found without
    PATH, so that a process started with nothing activated (systemd, ``.venv/bin/dagster dev``)
    still finds the project's own dbt."""
    for folder in (sysconfig.get_path("scripts"), str(Path(sys.executable).parent)):
        candidate = Path(folder) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def dbt_executable() -> str:
    """The dbt of the project's environment; plain ``dbt`` (from PATH) only if it has none."""
    found = environment_script("dbt")
    return str(found) if found else "dbt"


@dataclass(frozen=True)
class IngestLimits:
    """What one inbox file may cost, and what DuckDB may hold (``limits:`` in ``config/bdw.yml``).
    A file past a limit is quarantined with a message naming the limit; without them one hostile
    file (10,000 columns, a 5 MB field) can exhaust the machine's memory. ``memory`` bounds every
    DuckDB connection that does heavy work (ingestion, dbt, the validation's reads, publishing, the
    report): DuckDB's own default is 80% of the machine's RAM, per connection
    (docs/performance.md)."""

    max_columns: int = 500  # columns of one file (the widest source has 21; a CRM export a few dozen)
    max_line_bytes: int = 1 << 20  # bytes of one CSV line (row), so of any one field
    memory: str = "2GB"  # DuckDB memory of each heavy connection; beyond it DuckDB spills to <workdir>/tmp/duckdb


DEFAULT_LIMITS = IngestLimits()
_MEMORY_RE = re.compile(r"^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$", re.IGNORECASE)


def parse_limits(doc: object, origin: Path | str = "bdw.yml") -> IngestLimits:
    """``limits:`` of the config file, each defaulting to :data:`DEFAULT_LIMITS`; a bad value is a
    clear error naming the key."""
    if doc is None:
        return DEFAULT_LIMITS
    if not isinstance(doc, dict):
        raise ValueError(f"{origin}: limits must be a mapping (max_columns, max_line_bytes, memory)")
    unknown = set(doc) - {"max_columns", "max_line_bytes", "memory"}
    if unknown:
        raise ValueError(f"{origin}: limits has unknown key(s) {', '.join(sorted(map(str, unknown)))}")
    values: dict[str, object] = {}
    for key in ("max_columns", "max_line_bytes"):
        if key in doc:
            value = doc[key]
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{origin}: limits.{key} must be a whole number above 0, not {value!r}")
            values[key] = value
    if "memory" in doc:
        memory = str(doc["memory"]).strip()
        if not _MEMORY_RE.match(memory):
            raise ValueError(f"{origin}: limits.memory must be a size like 2GB or 512MB, not {doc['memory']!r}")
        values["memory"] = memory
    return IngestLimits(**{**DEFAULT_LIMITS.__dict__, **values})


def parse_freshness(doc: object, origin: Path | str = "bdw.yml") -> dict[str, FreshnessRule]:
    """``freshness:`` of the config file: the most days a source's newest file may be older than
    --as-of, per cadence (``daily``, ``weekly``, ...) or per source (which wins), ``off`` to judge
    nothing of it; the rest keep their default (bdw.quality.freshness). A bad value is a clear error
    naming the key."""
    if doc is None:
        return DEFAULT_RULES
    if not isinstance(doc, dict):
        raise ValueError(f"{origin}: freshness must map a cadence ({', '.join(CADENCE_MAX_AGE_DAYS)}) or a source "
                         "to a number of days (or off)")
    cadences: dict[str, int | None] = {}
    sources: dict[str, int | None] = {}
    for key, value in doc.items():
        key = str(key)
        if key in CADENCE_MAX_AGE_DAYS:
            target = cadences
        elif key in SOURCES:
            target = sources
        else:
            raise ValueError(f"{origin}: freshness names {key!r}, which is neither a cadence "
                             f"({', '.join(CADENCE_MAX_AGE_DAYS)}) nor a source")
        if value is False or (isinstance(value, str) and value.strip().lower() == "off"):  # YAML reads off as false
            target[key] = None
        elif isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            target[key] = value
        else:
            raise ValueError(f"{origin}: freshness.{key} must be a whole number of days (0 or more) or off, "
                             f"not {value!r}")
    return resolve_rules(cadences, sources)


@dataclass(frozen=True)
class Settings:
    inbox: Path
    warehouse: Path
    workdir: Path
    config_dir: Path = DEFAULT_CONFIG_DIR
    policies: dict[str, Policy] = field(default_factory=dict)
    profile: str | None = None  # a mapping profile applied to every source of the run
    as_of: dt.date | None = None  # BDW_AS_OF; None: the newest file's date (bdw.run_context.resolve_as_of)
    limits: IngestLimits = DEFAULT_LIMITS
    freshness: dict[str, FreshnessRule] = field(default_factory=lambda: dict(DEFAULT_RULES))  # per source

    @property
    def run_lock(self) -> Path:
        """The lock a run holds on the working folder (``bdw.run_lock``)."""
        return self.workdir / "run.lock"

    @property
    def personal_vault(self) -> Path:
        """The private database of personal values and their pseudonyms (``bdw.privacy``)."""
        return self.workdir / "personal.duckdb"

    @property
    def ingest_scratch(self) -> Path:
        """Ingestion's scratch folder: GBK text transcoded to UTF-8, DuckDB's spill files."""
        return self.workdir / "tmp"

    @property
    def work_db(self) -> Path:
        """The private database every run ingests into and dbt builds; never read by analysts."""
        return self.workdir / WORK_DB_NAME

    @property
    def quarantine_dir(self) -> Path:
        return self.workdir / "quarantine"

    @property
    def profile_dirs(self) -> tuple[Path, ...]:
        """User profiles first, so a user can override a shipped one by name."""
        return tuple(dict.fromkeys((self.config_dir / "profiles", SHIPPED_PROFILES_DIR)))

    def policy(self, source: str) -> Policy:
        return self.policies.get(source, SOURCES[source].policy)

    @property
    def duckdb_spill(self) -> Path:
        """Where DuckDB spills what does not fit in ``limits.memory`` (every connection of a run)."""
        return self.ingest_scratch / "duckdb"

    def duckdb_config(self) -> dict[str, str]:
        """The configuration of every DuckDB connection that does heavy work: the memory limit and
        the spill folder. DuckDB does not create the folder's parents: whoever connects creates it
        (``bdw.resources.connect_writer``, ``bdw.publish.publish``, ``export_environment``)."""
        return {"memory_limit": self.limits.memory, "temp_directory": str(self.duckdb_spill)}

    def dbt_env(self) -> dict[str, str]:
        """What dbt's profile needs: the working database, and the memory limit and spill folder of
        its connection (``config_options:`` in dbt/profiles.yml)."""
        config = self.duckdb_config()
        return {DUCKDB_PATH_ENV: str(self.work_db), DUCKDB_MEMORY_LIMIT_ENV: config["memory_limit"],
                DUCKDB_TEMP_DIRECTORY_ENV: config["temp_directory"]}


def config_dir() -> Path:
    return Path(_env(CONFIG_DIR_ENV) or DEFAULT_CONFIG_DIR).resolve()


def load_settings(
    inbox: str | os.PathLike | None = None,
    warehouse: str | os.PathLike | None = None,
    workdir: str | os.PathLike | None = None,
    profile: str | None = None,
) -> Settings:
    """Arguments win over environment variables, which win over the defaults."""
    warehouse_path = Path(warehouse or _env(WAREHOUSE_ENV) or REPO_ROOT / "data" / "warehouse.duckdb").resolve()
    cfg_dir = config_dir()
    cfg_file = cfg_dir / "bdw.yml"
    cfg = (yaml.safe_load(cfg_file.read_text(encoding="utf-8")) or {}) if cfg_file.exists() else {}
    policies: dict[str, Policy] = {}
    for name, policy in (cfg.get("policies") or {}).items():
        if name not in SOURCES:
            raise ValueError(f"{cfg_file}: policies names an unknown source {name!r}")
        if policy not in ("file", "row"):
            raise ValueError(f"{cfg_file}: policy of {name} must be 'file' or 'row', not {policy!r}")
        policies[name] = policy
    as_of = _env(AS_OF_ENV)
    try:
        as_of_date = dt.date.fromisoformat(as_of) if as_of else None
    except ValueError:
        raise ValueError(f"{AS_OF_ENV}={as_of!r} is not a date (YYYY-MM-DD)") from None
    return Settings(
        inbox=Path(inbox or _env(INBOX_ENV) or REPO_ROOT / "data" / "inbox").resolve(),
        warehouse=warehouse_path,
        workdir=Path(workdir or _env(WORKDIR_ENV) or warehouse_path.parent / ".bdw").resolve(),
        config_dir=cfg_dir,
        policies=policies,
        profile=profile or cfg.get("profile"),
        as_of=as_of_date,
        limits=parse_limits(cfg.get("limits"), cfg_file),
        freshness=parse_freshness(cfg.get("freshness"), cfg_file),
    )


@dataclass(frozen=True)
class ScheduleSettings:
    cron: str
    timezone: str
    sensor_interval_seconds: int


def schedule_settings() -> ScheduleSettings:
    """When the nightly job runs and how often the inbox sensor looks."""
    interval = _env(SENSOR_INTERVAL_ENV)
    try:
        seconds = int(interval) if interval else DEFAULT_SENSOR_INTERVAL
    except ValueError:
        raise ValueError(f"{SENSOR_INTERVAL_ENV}={interval!r} is not a whole number of seconds") from None
    return ScheduleSettings(_env(SCHEDULE_CRON_ENV) or DEFAULT_CRON, _env(SCHEDULE_TIMEZONE_ENV) or DEFAULT_TIMEZONE,
                            seconds)


def dagster_home() -> Path | None:
    """The persistent Dagster instance's folder (``DAGSTER_HOME``), or None when it is not set
    (then ``bdw run`` records its run in a throwaway instance)."""
    home = _env(DAGSTER_HOME_ENV)
    return Path(home).expanduser().resolve() if home else None


def fault_point() -> str | None:
    """The crash-safety tests' named point (``bdw.faults``); None in normal operation."""
    return _env(FAULT_POINT_ENV)
