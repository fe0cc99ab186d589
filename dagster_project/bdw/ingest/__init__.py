"""Ingestion: the inbox's export files into the raw layer of the working database.

- ``readers``    one export file (CSV in any of the accepted encodings, XLSX, Parquet) into a table of text
- ``mapping``    mapping profiles: other systems' headers and values onto the contract
- ``row_rules``  the contract's row rules (required, type, enum, key, required-when) as one query
- ``load``       one source's files: stage, read, check, quarantine or load
"""

from bdw.ingest.load import LINEAGE, ensure_raw_tables, inbox_files, ingest_source

__all__ = ["LINEAGE", "ensure_raw_tables", "inbox_files", "ingest_source"]
