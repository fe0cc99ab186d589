"""After publishing: the KPI report page and the dbt docs page, beside the published warehouse.

Both run after ``warehouse``, so a run that does not publish leaves the previous pages in place,
and a failure here never touches the published file.
"""


from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from bdw.assets.ingestion import WRITER_POOL
from bdw.assets.publishing import WAREHOUSE_KEY
from bdw.resources import BdwSettings


@asset(
    key=["report"],
    group_name="publish",
    deps=[WAREHOUSE_KEY],
    kinds={"html"},
    owners=["team:sales-ops"],
    description="The KPI report page for the BD manager: scorecard with plan to date and statuses, the year's "
    "signed revenue against its plan, the team against quota, quarterly trends against targets, open early "
    "warnings and data quality, in Chinese and English; one HTML file beside the "
    "warehouse (`<warehouse stem>_report.html`) that opens without a server or internet.",
)
def report(context: AssetExecutionContext, bdw: BdwSettings) -> MaterializeResult:
    from bdw.report import build_report  # matplotlib and jinja2: loaded when the step runs

    result = build_report(bdw.settings().warehouse)
    if result.cjk_font is None:
        context.log.warning("no CJK font installed: the charts' Chinese labels are left to the browser "
                            "(apt-get install fonts-noto-cjk)")
    context.log.info(f"wrote {result.path}")
    return MaterializeResult(metadata={
        "path": MetadataValue.path(str(result.path)),
        "as_of": result.as_of.isoformat(),
        "kpis_shown": result.kpis,
        "targets_shown": result.targets,
        "charts": result.charts,
        "open_warnings": result.warnings,
        "cjk_font": result.cjk_font or "none (Chinese chart labels drawn by the browser)",
    })


@asset(
    key=["dbt_docs"],
    group_name="publish",
    deps=[WAREHOUSE_KEY],
    kinds={"dbt", "html"},
    pool=WRITER_POOL,  # reads the working database: no writer may hold it meanwhile
    owners=["team:sales-ops"],
    description="The dbt docs (models, columns, KPI definitions, lineage) as one static page beside the "
    "warehouse (`<warehouse stem>_docs.html`).",
)
def dbt_docs(context: AssetExecutionContext, bdw: BdwSettings) -> MaterializeResult:
    from bdw.dbt_docs import publish_docs

    result = publish_docs(bdw.settings())
    context.log.info(f"wrote {result.path} ({result.nodes} tables) in {result.seconds:.1f} s")
    return MaterializeResult(metadata={
        "path": MetadataValue.path(str(result.path)),
        "tables": result.nodes,
        "seconds": result.seconds,
    })
