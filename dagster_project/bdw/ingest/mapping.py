"""Mapping profiles (docs/contract.md section 4): other systems' headers and values onto the contract.

A profile is a YAML file ``<name>.yml`` in ``config/profiles/`` (shipped: ``salesforce``, ``zh``)
or in the user's config folder. Per source it may give:

``columns``    contract column -> the export's header, or a list of accepted headers
``values``     contract column -> {export value: contract value} (matched trimmed, case-insensitive)
``constants``  contract column -> a value, for a column the export does not have
``fill``       contract column -> another column whose value is taken when it is empty

A profile is chosen for a whole run (``bdw run --profile NAME`` or ``profile:`` in
``config/bdw.yml``) or per inbox folder by a file ``_profile.yml`` holding ``profile: NAME``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bdw.contract import SOURCES

PROFILE_FILE = "_profile.yml"


class ProfileError(ValueError):
    pass


@dataclass(frozen=True)
class SourceMapping:
    aliases: dict[str, str] = field(default_factory=dict)  # normalised header -> contract column
    values: dict[str, dict[str, str]] = field(default_factory=dict)  # column -> {lower(value): value}
    constants: dict[str, str] = field(default_factory=dict)
    fill: dict[str, str] = field(default_factory=dict)  # column -> normalised other column


@dataclass(frozen=True)
class Profile:
    name: str
    sources: dict[str, SourceMapping]

    def for_source(self, source: str) -> SourceMapping:
        return self.sources.get(source, SourceMapping())


NO_PROFILE = Profile("none", {})


def normalise_header(header: str) -> str:
    """Headers match case-insensitively after trimming; inner spaces and dashes count as ``_``."""
    text = header.replace("\ufeff", "").strip().lower()
    return re.sub(r"[\s\-]+", "_", text)


_PROFILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def load_profile(name: str, dirs: tuple[Path, ...]) -> Profile:
    """The profile ``name`` from the first of ``dirs`` that has it. A name is a plain file name (an
    inbox's ``_profile.yml`` gives it): never a path that could lead out of the config folders."""
    if not _PROFILE_NAME.match(name) or ".." in name:
        raise ProfileError(f"{name!r} is not a profile name (letters, digits, '_', '-' and '.' only)")
    for d in dirs:
        path = d / f"{name}.yml"
        if path.exists():
            return parse_profile(name, yaml.safe_load(path.read_text(encoding="utf-8")) or {}, path)
    searched = ", ".join(str(d) for d in dirs)
    raise ProfileError(f"no mapping profile named {name!r} (looked for {name}.yml in {searched})")


def parse_profile(name: str, doc: dict, origin: Path | str = "<profile>") -> Profile:
    sources: dict[str, SourceMapping] = {}
    for source, spec in (doc.get("sources") or {}).items():
        if source not in SOURCES:
            raise ProfileError(f"{origin}: unknown source {source!r}")
        contract = SOURCES[source]
        spec = spec or {}
        known = set(contract.column_names)
        for section in ("columns", "values", "constants", "fill"):
            for col in spec.get(section) or {}:
                if col not in known:
                    raise ProfileError(f"{origin}: {source}.{section} names {col!r}, not a column of {source}")
        aliases: dict[str, str] = {}
        for col, headers in (spec.get("columns") or {}).items():
            for h in [headers] if isinstance(headers, str) else list(headers):
                aliases[normalise_header(str(h))] = col
        values = {
            col: {str(k).strip().lower(): str(v) for k, v in (mapping or {}).items()}
            for col, mapping in (spec.get("values") or {}).items()
        }
        constants = {col: str(v) for col, v in (spec.get("constants") or {}).items()}
        fill = {col: normalise_header(str(other)) for col, other in (spec.get("fill") or {}).items()}
        sources[source] = SourceMapping(aliases, values, constants, fill)
    return Profile(name, sources)


def folder_profile_name(folder: Path) -> str | None:
    """The profile a folder's ``_profile.yml`` names. A link in its place is not followed (it could
    point at any file of the machine): that is a configuration error, not a profile."""
    path = folder / PROFILE_FILE
    if path.is_symlink() or (path.exists() and not path.is_file()):
        raise ProfileError(f"{path}: is a link or not a file; links are not followed (put the profile file itself "
                           "there, holding a line 'profile: <name>')")
    if not path.exists():
        return None
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    name = doc.get("profile") if isinstance(doc, dict) else None
    if not name:
        raise ProfileError(f"{path}: expected a line 'profile: <name>'")
    return str(name)
