"""What the inbox holds: each source's data files, and every entry that is not read, with why.

The inbox is listed without following a link and without reading a byte of any file: a symbolic
link (to a file or a folder) is never followed, whatever it points at, and neither is anything
that resolves outside the inbox or is not a regular file (a pipe would block the reader). A user
learns what was left out and why, from the run summary:

- a link, or a path that resolves outside the inbox;
- something that is neither a regular file nor a folder (a pipe, a socket, a device);
- a folder inside a source folder (files go directly into the source's folder);
- a folder at the root that names no source (the nearest source name is suggested: ``paymnets/``);
- a file at the root, outside every source folder.

Names starting with ``.`` (``.DS_Store``) or ``_`` (a folder's ``_profile.yml``) are not data and
are passed over in silence. Every part of the project that lists the inbox (ingestion, the inbox
sensor, the as-of date, the run summary) goes through :func:`survey` or :func:`source_files`.
"""

from __future__ import annotations

import difflib
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from bdw.contract import SOURCES

LINK = "a link: links are not followed; put the file itself into the inbox"
OUTSIDE = "it resolves to a place outside the inbox: not read"
NOT_A_FILE = "not a regular file (a pipe, socket or device): not read"
NESTED = "a folder inside a source folder: its files are not read (files go directly into the source's folder)"
ROOT_FILE = "a file outside every source folder: not read (put it into its source's folder, e.g. payments/)"


@dataclass(frozen=True)
class Ignored:
    """An inbox entry that is not read, and why (``path`` relative to the inbox; a folder ends in ``/``)."""

    path: str
    reason: str

    def line(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass
class InboxSurvey:
    files: dict[str, list[Path]] = field(default_factory=dict)  # source -> data files, in name order
    ignored: list[Ignored] = field(default_factory=list)  # in path order


def _hidden(name: str) -> bool:
    return name.startswith((".", "_"))


def _inside(path: Path, inbox: Path) -> bool:
    try:
        path.resolve().relative_to(inbox.resolve())
    except (ValueError, OSError):
        return False
    return True


def unknown_folder_reason(name: str) -> str:
    """Why a root folder is not read, with the nearest source name when there is one."""
    near = difflib.get_close_matches(name.lower(), list(SOURCES), n=1, cutoff=0.6)
    hint = f" (did you mean {near[0]}/?)" if near else f" (source folders: {', '.join(sorted(SOURCES))})"
    return f"not a source folder: not read{hint}"


def _entry_problem(entry: os.DirEntry, inbox: Path) -> str | None:
    """Why an entry may not be read at all (a link, outside the inbox, not a file or folder), or None."""
    if entry.is_symlink():
        return LINK
    mode = entry.stat(follow_symlinks=False).st_mode
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        return NOT_A_FILE
    if not _inside(Path(entry.path), inbox):
        return OUTSIDE
    return None


def _entries(folder: Path) -> list[os.DirEntry]:
    with os.scandir(folder) as it:
        return sorted(it, key=lambda e: e.name)


def source_files(inbox: Path, source: str) -> tuple[list[Path], list[Ignored]]:
    """The data files of one source's folder, in processing (lexical) order, and what in it is not read."""
    folder = inbox / source
    rel = f"{source}/"
    if folder.is_symlink():
        return [], [Ignored(rel, LINK)]
    if not folder.is_dir():
        return [], []
    if not _inside(folder, inbox):
        return [], [Ignored(rel, OUTSIDE)]
    files: list[Path] = []
    ignored: list[Ignored] = []
    for entry in _entries(folder):
        if _hidden(entry.name):
            continue
        path = f"{rel}{entry.name}"
        problem = _entry_problem(entry, inbox)
        if problem:
            ignored.append(Ignored(path, problem))
        elif entry.is_dir(follow_symlinks=False):
            ignored.append(Ignored(f"{path}/", NESTED))
        else:
            files.append(Path(entry.path))
    return files, ignored


def survey(inbox: Path) -> InboxSurvey:
    """Every source's data files and every entry of the inbox that is not read."""
    out = InboxSurvey()
    if not inbox.is_dir():
        return out
    for entry in _entries(inbox):
        if _hidden(entry.name):
            continue
        if entry.name in SOURCES:
            files, ignored = source_files(inbox, entry.name)
            if files:
                out.files[entry.name] = files
            out.ignored += ignored
            continue
        problem = _entry_problem(entry, inbox)
        if problem:
            out.ignored.append(Ignored(entry.name, problem))
        elif entry.is_dir(follow_symlinks=False):
            out.ignored.append(Ignored(f"{entry.name}/", unknown_folder_reason(entry.name)))
        else:
            out.ignored.append(Ignored(entry.name, ROOT_FILE))
    out.ignored.sort(key=lambda i: i.path)
    return out
