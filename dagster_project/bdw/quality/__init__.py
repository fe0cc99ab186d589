"""Data quality with Great Expectations (GX Core 1.x), run by Dagster on every run.

- ``config``    thresholds: the seeds (completeness target, key fields) and config/quality.yml
- ``rules``     every rule once: the Dagster asset check it becomes and the expectation behind it
- ``snapshots`` the staging data as pandas DataFrames (with derived columns) read from DuckDB
- ``gx_runner`` the ephemeral GX context, suites, checkpoint and Data Docs
- ``history``   the results appended to the ``dq`` schema
- ``run``       one pass: validate, record, alert (called by bdw.assets.checks)
- ``summary``   the data-quality section of the run summary
"""
