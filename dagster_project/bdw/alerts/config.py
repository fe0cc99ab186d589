"""Which channels alerts go to: ``alerts.yml`` names each channel and the environment variable that
holds its Apprise URL; the URL itself (a secret: tokens, passwords) is only ever in the environment.

The file is ``BDW_ALERTS_CONFIG``, else ``<config dir>/alerts.yml``, else the shipped
``config/alerts.example.yml`` (bdw.settings.alerts_config_path). A channel whose variable is not set
is off. Problems (a secret written in the file, a retired variable still set, a bad value) are
collected, written to the alert log and shown in the run summary; they never stop a run, and their
wording never quotes a secret.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bdw.alerts.alert import SEVERITY_RANK, Severity
from bdw.settings import Settings, alert_log_path, alerts_config_path, retired_alert_variables, secret

LOG_NAME = "alerts.jsonl"
STATE_NAME = "alerts_state.json"
DEFAULT_MIN_SEVERITY: Severity = "warn"
DEFAULT_MAX_ATTEMPTS = 5
DEFAULT_TIMEOUT_SECONDS = 30.0
DOCS = "docs/alerts.md"

_VARIABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CHANNEL_KEYS = {"url_env", "min_severity"}
_SECRET_KEYS = {"url", "password", "token", "secret", "key", "webhook"}  # what a channel's URL is made of
_TOP_KEYS = {"log", "max_delivery_attempts", "timeout_seconds", "channels"}
_RETIRED_SECTIONS = ("webhook", "email", "channels_min_severity")


@dataclass(frozen=True)
class Channel:
    name: str  # the channel's name in alerts.yml: it names the channel in the log and the summary
    url_env: str  # the environment variable holding its Apprise URL
    min_severity: Severity = DEFAULT_MIN_SEVERITY
    url: str = field(default="", repr=False, compare=False)  # a secret: from the environment only

    def gets(self, severity: str) -> bool:
        """Whether an alert of ``severity`` goes to this channel."""
        return SEVERITY_RANK[severity] >= SEVERITY_RANK[self.min_severity]


@dataclass(frozen=True)
class AlertConfig:
    log_path: Path
    state_path: Path
    channels: tuple[Channel, ...] = ()  # the channels with a URL: they are sent to
    off: tuple[Channel, ...] = ()  # named in the file, but their variable is not set
    max_delivery_attempts: int = DEFAULT_MAX_ATTEMPTS
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    problems: tuple[str, ...] = ()
    source: Path | None = None  # the file read
    user_file: bool = False  # the user's own file (not the shipped example)

    @property
    def urls(self) -> tuple[str, ...]:
        return tuple(c.url for c in self.channels)

    def channel(self, name: str) -> Channel | None:
        return next((c for c in self.channels if c.name == name), None)


def _holds_url(value: object) -> bool:
    """Whether a value read from the file holds a URL (anywhere inside, at any depth)."""
    if isinstance(value, str):
        return "://" in value
    if isinstance(value, dict):
        return any(_holds_url(v) for v in value.values())
    if isinstance(value, list):
        return any(_holds_url(v) for v in value)
    return False


def _channels(raw: object, where: str, problems: list[str]) -> tuple[list[Channel], list[Channel]]:
    on: list[Channel] = []
    off: list[Channel] = []
    if raw is None:
        return on, off
    if not isinstance(raw, dict):
        problems.append(f"{where}: channels must map each channel's name to its url_env and min_severity")
        return on, off
    for name, spec in raw.items():
        name = str(name)
        spec = spec if isinstance(spec, dict) else {}
        if _holds_url(spec) or _SECRET_KEYS & set(map(str, spec)):
            problems.append(f"{where}: channel {name} is off: its URL is a secret and is refused in a file; put it "
                            f"in an environment variable and name that variable with url_env ({DOCS})")
            continue
        unknown = sorted(set(spec) - _CHANNEL_KEYS)
        if unknown:
            problems.append(f"{where}: channel {name} is off: unknown key(s) {', '.join(map(str, unknown))} "
                            f"(a channel has url_env and min_severity; its URL is a secret, kept in the environment)")
            continue
        variable = spec.get("url_env")
        if not isinstance(variable, str) or not _VARIABLE_NAME.match(variable):
            problems.append(f"{where}: channel {name} is off: url_env must name the environment variable that "
                            "holds its Apprise URL (letters, digits and _)")
            continue
        severity = str(spec.get("min_severity", DEFAULT_MIN_SEVERITY))
        if severity not in SEVERITY_RANK:
            problems.append(f"{where}: channel {name}: min_severity must be info, warn or error, not "
                            f"{severity[:20]!r}; using {DEFAULT_MIN_SEVERITY}")
            severity = DEFAULT_MIN_SEVERITY
        url = secret(variable)
        channel = Channel(name=name, url_env=variable, min_severity=severity, url=url or "")  # type: ignore[arg-type]
        (on if url else off).append(channel)
    return on, off


def _number(raw: dict, key: str, default: float, where: str, problems: list[str]) -> float:
    value = raw.get(key, default)
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = -1.0
    if number <= 0:
        problems.append(f"{where}: {key} must be a positive number; using {default:g}")
        return default
    return number


def load_alert_config(settings: Settings) -> AlertConfig:
    """The channels of ``settings``' config folder and the environment (see the module doc)."""
    problems: list[str] = []
    path, chosen = alerts_config_path(settings.config_dir)
    where = path.name
    raw: dict = {}
    if path.exists():
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
            raw = loaded if isinstance(loaded, dict) else {}
        except (OSError, yaml.YAMLError) as e:
            problems.append(f"{path}: cannot read the alert configuration ({type(e).__name__}); alerts go to the "
                            "log only")
    elif chosen:
        problems.append(f"BDW_ALERTS_CONFIG names {path}, which does not exist; alerts go to the log only")

    retired = [k for k in _RETIRED_SECTIONS if k in raw]
    if retired:
        problems.append(f"{where}: {', '.join(retired)} {'is' if len(retired) == 1 else 'are'} no longer read: every "
                        f"channel is now an Apprise URL in an environment variable, named under channels: ({DOCS})")
    for key in sorted(set(raw) - _TOP_KEYS - set(_RETIRED_SECTIONS), key=str):
        if _holds_url(raw[key]):
            problems.append(f"{where}: {key} holds a URL: channel URLs are secrets and are refused in a file")
        else:
            problems.append(f"{where}: unknown key {key}")
    on, off = _channels(raw.get("channels"), where, problems)

    named = {c.url_env for c in on + off}
    for variable in retired_alert_variables():
        if variable not in named:
            problems.append(f"{variable} is set but no longer read: alert channels are Apprise URLs now (e-mail: "
                            f"mailtos://user:password@host?to=...); put the URL in a variable named by alerts.yml, "
                            f"e.g. BDW_ALERT_EMAIL_URL ({DOCS})")

    log = alert_log_path() or (Path(raw["log"]) if isinstance(raw.get("log"), str) and raw["log"] else None)
    attempts = int(_number(raw, "max_delivery_attempts", DEFAULT_MAX_ATTEMPTS, where, problems))
    return AlertConfig(
        log_path=log or settings.warehouse.parent / LOG_NAME,
        state_path=settings.workdir / STATE_NAME,
        channels=tuple(on),
        off=tuple(off),
        max_delivery_attempts=attempts,
        timeout_seconds=_number(raw, "timeout_seconds", DEFAULT_TIMEOUT_SECONDS, where, problems),
        problems=tuple(problems),
        source=path if path.exists() else None,
        user_file=chosen,
    )
