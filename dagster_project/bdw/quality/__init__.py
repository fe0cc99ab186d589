"""Data quality with Great Expectations (GX Core 1.x), run by Dagster on every run.

- ``thresholds`` thresholds: the seeds (completeness target, key fields, fx tolerance) and config/quality.yml
- ``rules``     every GX rule once: the Dagster asset check it becomes, the expectation behind it,
                the dbt check model it reads (docs/data_quality.md: which layer owns which rule)
- ``snapshots`` the dbt check models (dq.check_*: staging data with derived columns) as pandas DataFrames
- ``gx_runner`` the ephemeral GX context, suites, checkpoint and Data Docs
- ``data_docs`` the Data Docs made to work offline (scripts and styles from ``data_docs_assets/``)
- ``history``   the results appended to the ``dq`` schema
- ``run``       one pass: validate, record, alert (called by bdw.assets.checks)
- ``summary``   the data-quality section of the run summary
- ``freshness`` stale sources: each source's cadence and threshold, the verdicts of dq.source_freshness
"""
