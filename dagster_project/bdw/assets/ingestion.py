"""One Dagster asset per inbox source: ``raw/<source>``, loaded into the working database."""


from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    Backoff,
    Failure,
    MaterializeResult,
    MetadataValue,
    RetryPolicy,
    asset,
)

from bdw.contract import SOURCES, Source
from bdw.ingest import ingest_source
from bdw.ingest.inbox import source_files
from bdw.ingest.mapping import ProfileError
from bdw.ingest.outcome import ROWS_IN_RAW, SKIPPED, FileStatus, SourceResult
from bdw.privacy import is_protected, protect_working_database
from bdw.resources import BdwSettings, WorkingDatabase, connect_writer
from bdw.run_lock import RunLocked, step_lock
from bdw.settings import Settings

WRITER_POOL = "duckdb_writer"  # one writer at a time on the working database (dbt included)
# a transient failure (a file still being copied in, a full disk freed) gets two more tries;
# a configuration error does not (it raises Failure with allow_retries=False)
TRANSIENT_RETRY = RetryPolicy(max_retries=2, delay=15, backoff=Backoff.EXPONENTIAL)
_POLICY_WORDS = {
    "file": "by default a file loads all or nothing",
    "row": "by default bad rows are quarantined one by one",
}


def _raw_asset(source: Source) -> AssetsDefinition:
    @asset(
        key=AssetKey(["raw", source.name]),
        group_name="raw",
        kinds={"python", "duckdb"},
        pool=WRITER_POOL,
        owners=["team:sales-ops"],
        description=f"{source.description}: every valid row of every `{source.name}` export in the inbox, "
        f"with its file and row ({_POLICY_WORDS[source.policy]}).",
        tags={"system": source.system},
        retry_policy=TRANSIENT_RETRY,
    )
    def _load(context: AssetExecutionContext, bdw: BdwSettings, duckdb: WorkingDatabase) -> MaterializeResult:
        settings = bdw.settings()
        try:
            with step_lock(settings):
                result, total = _ingest(context, settings, duckdb, source.name)
        except RunLocked as e:
            raise Failure(description=str(e), allow_retries=False) from None
        for f in result.files:
            if f.status in (FileStatus.QUARANTINED, FileStatus.PARTIAL):
                context.log.warning(f"{f.file}: {f.status}, {f.message}")
                for line in f.issues[:10]:
                    context.log.warning(line)
        return MaterializeResult(metadata={
            "files_loaded": result.count(*ROWS_IN_RAW),
            "files_quarantined": result.count(FileStatus.QUARANTINED),
            "files_skipped": result.count(*SKIPPED),
            "rows_loaded": result.rows_loaded,
            "rows_rejected": result.rows_rejected,
            "rows_in_table": total,
            "files": MetadataValue.md("\n".join(f"- `{f.file}`: {f.status} {f.message}" for f in result.files)
                                      or "no files"),
        })

    return _load


def _ingest(context: AssetExecutionContext, settings: Settings, duckdb: WorkingDatabase,
            source: str) -> tuple[SourceResult, int]:
    """The source's files into the working database (converted first if it predates pseudonyms);
    the folder's entries that are not read go to the step's log. One connection normally: a
    second only the first time a working database is seen unmarked (a new one, or one to convert)."""
    for ignored in source_files(settings.inbox, source)[1]:
        context.log.warning(f"not read: {ignored.line()}")
    with duckdb.get_connection() as con:
        if is_protected(con):
            return _load_source(con, settings, source, context.run.run_id)
    if protect_working_database(settings.work_db, settings.personal_vault, connect_writer):
        context.log.warning("the working database held personal values: they are pseudonyms now (bdw.privacy)")
    with duckdb.get_connection() as con:
        return _load_source(con, settings, source, context.run.run_id)


def _load_source(con, settings: Settings, source: str, run_id: str) -> tuple[SourceResult, int]:
    try:
        result = ingest_source(con, settings, source, run_id=run_id)
    except ProfileError as e:
        raise Failure(description=str(e), allow_retries=False) from e
    return result, con.execute(f"SELECT count(*) FROM raw.{source}").fetchone()[0]


raw_assets = [_raw_asset(s) for s in SOURCES.values()]
