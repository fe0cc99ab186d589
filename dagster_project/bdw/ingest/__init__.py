"""Ingestion: the inbox's export files into the raw layer of the working database.

- ``load``         one source's files: stage, read, check, judge, load (``ingest_source``)
- ``inbox``        what the inbox holds: each source's data files, and what is not read (links never followed)
- ``reading``      a delivery's files read and mapped, files of one CSV layout together
- ``readers``      one export file (CSV in any of the accepted encodings, XLSX, Parquet) into a table of text
- ``prepare``      a read file's headers and values onto the contract's columns
- ``mapping``      mapping profiles: other systems' headers and values onto the contract
- ``row_rules``    the contract's row rules (required, type, enum, key, required-when) as one query
- ``quarantine``   the quarantine folder: rejected files and rows with their reasons
- ``bookkeeping``  the raw tables' layout, the load manifest and the issues table
- ``outcome``      what became of a file: ``FileStatus`` and the results ``ingest_source`` returns
"""

from bdw.ingest.bookkeeping import LINEAGE, ensure_raw_tables
from bdw.ingest.load import inbox_files, ingest_source

__all__ = ["LINEAGE", "ensure_raw_tables", "inbox_files", "ingest_source"]
