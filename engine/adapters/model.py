"""An adapter profile: which exchange, environment and account, and how to reach it.

A profile never holds a secret: unknown fields are refused, and options whose names look
like secrets are refused with a pointer to the keyring.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Final, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from engine.adapters.kinds import (
    IB_DEFAULT_PORTS,
    AdapterKind,
    Environment,
    Family,
    KindInfo,
    OptionValue,
    kind_info,
)

# The same slug as node ids (engine.config.model.NODE_ID_PATTERN), which name profiles:
# lower case, digits and inner hyphens, so a name cannot leave the adapters directory.
PROFILE_NAME_PATTERN: Final = r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$"
ProfileName = Annotated[str, StringConstraints(pattern=PROFILE_NAME_PATTERN)]
_SECRET_LIKE: Final = re.compile(r"secret|api_?key|password|passphrase|token", re.IGNORECASE)
_TRUE: Final = {"true", "1", "yes", "on"}
_FALSE: Final = {"false", "0", "no", "off"}


@dataclass(frozen=True, slots=True)
class ProfileIssue:
    """One problem with one field of a profile: where, what was expected, what was given."""

    field: str
    message: str
    value: Any = None

    def render(self) -> str:
        shown = "" if self.value is None else f" (got {self.value!r})"
        return f"{self.field or '(profile)'}: {self.message}{shown}"

    def to_dict(self) -> dict[str, Any]:
        value = self.value if isinstance(self.value, str | int | float | bool) else None
        return {"field": self.field, "message": self.message, "value": value}


class ProfileInvalid(ValueError):
    """A profile failed validation; carries every issue found."""

    def __init__(self, issues: list[ProfileIssue], source: str | None = None) -> None:
        self.issues = issues
        self.source = source
        head = f"{source}: " if source else ""
        super().__init__(head + "; ".join(i.render() for i in issues))


def is_valid_name(name: str) -> bool:
    """Return whether ``name`` is a valid profile name."""
    return re.fullmatch(PROFILE_NAME_PATTERN, name) is not None


def coerce_option(key: str, raw: Any, info: KindInfo) -> OptionValue:
    """Return ``raw`` (a CLI string or a JSON value) as the type option ``key`` expects."""
    spec = info.options.get(key)
    if spec is None:
        known = ", ".join(sorted(info.options)) or "none"
        raise ValueError(f"unknown option for {info.kind.value}; expected one of: {known}")
    if spec.type is bool:
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.strip().lower() in _TRUE | _FALSE:
            return raw.strip().lower() in _TRUE
        raise ValueError("expected true or false")
    if spec.type is int:
        if isinstance(raw, bool):
            raise ValueError("expected an integer")
        if isinstance(raw, int):
            value = raw
        elif isinstance(raw, str) and re.fullmatch(r"-?\d+", raw.strip()):
            value = int(raw.strip())
        else:
            raise ValueError("expected an integer")
        if value <= 0:
            raise ValueError("expected a positive integer")
        return value
    if not isinstance(raw, str) or not raw.strip():
        raise ValueError("expected a non-empty string")
    text = raw.strip()
    if spec.choices and text.upper() not in spec.choices:
        raise ValueError(f"expected one of: {', '.join(spec.choices)}")
    return text.upper() if spec.choices else text


def _check_url(value: str, schemes: tuple[str, ...]) -> str:
    parts = urlsplit(value)
    if parts.scheme not in schemes or not parts.hostname:
        raise ValueError(f"expected a {' or '.join(schemes)} URL like {schemes[-1]}://host[:port]")
    return value.rstrip("/")


class AdapterProfile(BaseModel):
    """One adapter profile, stored as ``<workspace>/adapters/<name>.json``.

    ``environment`` and ``account_type`` default per kind (testnet for crypto exchanges,
    paper trading for IB). ``options`` accepts only the keys the kind understands.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    version: Literal[1] = 1
    name: ProfileName = Field(description="profile name: lower case, digits and hyphens")
    kind: AdapterKind
    environment: Environment | None = None
    account_type: str | None = None
    base_url_http: str | None = Field(default=None, description="REST base URL override")
    base_url_ws: str | None = Field(default=None, description="WebSocket base URL override")
    options: dict[str, OptionValue] = Field(default_factory=dict)
    description: str = Field(default="", max_length=200)

    @field_validator("base_url_http")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        return None if value is None else _check_url(value, ("http", "https"))

    @field_validator("base_url_ws")
    @classmethod
    def _ws_url(cls, value: str | None) -> str | None:
        return None if value is None else _check_url(value, ("ws", "wss"))

    @model_validator(mode="after")
    def _per_kind(self) -> AdapterProfile:
        info = kind_info(self.kind)
        if self.environment is None:
            object.__setattr__(self, "environment", info.default_environment)
        elif self.environment not in info.environments:
            allowed = ", ".join(e.value for e in info.environments)
            raise ValueError(
                f"environment: {info.label} supports {allowed} (got {self.environment.value!r})"
            )
        if self.account_type is None:
            object.__setattr__(self, "account_type", info.account_types[0])
        else:
            upper = self.account_type.upper()
            if upper not in info.account_types:
                allowed = ", ".join(info.account_types)
                raise ValueError(
                    f"account_type: {info.label} accepts {allowed} (got {self.account_type!r})"
                )
            object.__setattr__(self, "account_type", upper)
        if not info.takes_base_urls and (self.base_url_http or self.base_url_ws):
            raise ValueError(f"base_url_http/base_url_ws: {info.label} takes no base URLs")
        options: dict[str, OptionValue] = {}
        for key, raw in self.options.items():
            if _SECRET_LIKE.search(key):
                raise ValueError(
                    f"options.{key}: secrets are not stored in a profile; "
                    "they go to the keyring (entered at a prompt or on stdin)"
                )
            try:
                options[key] = coerce_option(key, raw, info)
            except ValueError as exc:
                raise ValueError(f"options.{key}: {exc} (got {raw!r})") from None
        object.__setattr__(self, "options", options)
        return self

    # -- derived values ----------------------------------------------------------------

    @property
    def info(self) -> KindInfo:
        return kind_info(self.kind)

    @property
    def family(self) -> Family:
        return self.info.family

    @property
    def env(self) -> Environment:
        """The environment, resolved (never ``None`` after validation)."""
        assert self.environment is not None
        return self.environment

    def option(self, key: str) -> Any:
        """Return option ``key`` or the kind's default for it."""
        if key in self.options:
            return self.options[key]
        spec = self.info.options.get(key)
        return None if spec is None else spec.default

    def ib_port(self) -> int:
        """Return the IB API port: the option, else the kind's default for the environment."""
        port = self.option("port")
        if isinstance(port, int):
            return port
        return IB_DEFAULT_PORTS[(self.kind, self.env)]

    def to_json_dict(self) -> dict[str, Any]:
        """Return the profile as stored on disk (no ``None`` fields)."""
        return self.model_dump(mode="json", exclude_none=True)


def issues_from(exc: ValidationError) -> list[ProfileIssue]:
    """Turn a pydantic error into issues naming the field, the value and what was expected."""
    issues: list[ProfileIssue] = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        msg = str(err["msg"]).removeprefix("Value error, ")
        field = loc
        # Model-level checks name their field as "field: message".
        head, sep, rest = msg.partition(": ")
        if not loc and sep and re.fullmatch(r"[\w./]+", head):
            field, msg = head, rest
        value = err.get("input") if loc else None
        if _SECRET_LIKE.search(field):
            value = None  # never echo what may be a secret
        if err["type"] == "extra_forbidden":
            msg = "unknown field" + (
                "; secrets go to the keyring, not the profile" if _SECRET_LIKE.search(loc) else ""
            )
            value = None
        elif err["type"] == "string_pattern_mismatch" and loc == "name":
            msg = "expected lower-case letters, digits and inner hyphens (max 64)"
        if isinstance(value, Mapping | list):
            value = None
        issues.append(ProfileIssue(field, msg, value))
    return issues


def option_issues(data: Any) -> list[ProfileIssue]:
    """Every bad option of ``data`` (a profile document), each with its own issue.

    The model checks options after the fields, and stops at the first bad one: a form
    with a bad name and two bad options showed only the name's error.
    """
    if not isinstance(data, Mapping) or not isinstance(data.get("options"), Mapping):
        return []
    try:
        info = kind_info(data.get("kind"))  # type: ignore[arg-type]
    except (ValueError, KeyError, TypeError):
        return []
    issues = []
    for key, raw in data["options"].items():
        field = f"options.{key}"
        if _SECRET_LIKE.search(str(key)):
            message = "secrets are not stored in a profile; they go to the keyring"
            issues.append(ProfileIssue(field, message))
            continue
        try:
            coerce_option(str(key), raw, info)
        except (ValueError, TypeError) as exc:
            issues.append(ProfileIssue(field, f"{exc} (got {raw!r})"))
    return issues


def parse_profile(data: Any, source: str | None = None) -> AdapterProfile:
    """Validate ``data`` as a profile, raising :class:`ProfileInvalid` with every issue."""
    try:
        return AdapterProfile.model_validate(data)
    except ValidationError as exc:
        issues = issues_from(exc)
        named = {i.field for i in issues}
        issues += [i for i in option_issues(data) if i.field not in named]
        raise ProfileInvalid(issues, source) from None
