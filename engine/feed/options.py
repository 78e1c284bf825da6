"""The offline feed's options (``data_clients[i].options``), validated with pydantic.

Two sources share one client: a seeded random walk generated at a configurable rate, and
a replay of a Parquet data catalog at a chosen speed. Errors name the full field path,
e.g. ``data_clients[0].options.speed``, with the value and what was expected.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from engine.config.issues import ConfigInvalid, ConfigIssue, join_path

# SYMBOL.VENUE; Nautilus parses it for real when the client is built.
InstrumentIdText = Annotated[str, StringConstraints(pattern=r"^\S+\.[A-Za-z0-9_]+$")]
PositiveRate = Annotated[float, Field(gt=0, le=10_000_000)]


class _Options(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    instrument_ids: list[InstrumentIdText] = Field(
        min_length=1, description="instruments to stream, e.g. EUR/USD.SIM"
    )
    trades: bool = Field(default=True, description="also stream trade ticks")


class RandomWalkOptions(_Options):
    """A seeded random walk of quotes (and trades), generated as the node runs."""

    source: Literal["random_walk"]
    seed: int = Field(default=0, ge=0, le=2**63 - 1)
    rate: PositiveRate | Literal["max"] = Field(
        default=10.0, description="quotes per second per instrument, or 'max'"
    )
    volatility_bp: Annotated[float, Field(gt=0, le=1000)] = Field(
        default=0.5, description="standard deviation of one step, in basis points"
    )
    spread_ticks: Annotated[int, Field(ge=1, le=10_000)] = Field(
        default=2, description="bid/ask spread in price increments"
    )
    trade_every: Annotated[int, Field(ge=1, le=1_000_000)] = Field(
        default=5, description="one trade tick every N quotes"
    )
    start_prices: dict[InstrumentIdText, Annotated[float, Field(gt=0)]] = Field(
        default_factory=dict, description="instrument id -> first mid price"
    )
    history_bars: Annotated[int, Field(ge=0, le=100_000)] = Field(
        default=100, description="bars answered to a bar request (strategy warm-up)"
    )
    quote_size: Annotated[float, Field(gt=0, le=1e12)] | None = Field(
        default=None,
        description="size at the top of book and at each book level (default 1000000)",
    )
    book_levels: Annotated[int, Field(ge=0, le=10)] = Field(
        default=0,
        description="also stream an order book of N levels a side, each of quote_size "
        "(a thin book for a sandbox venue with book_type L2_MBP); 0: quotes only",
    )


class ReplayOptions(_Options):
    """A replay of quotes (and trades) from a Parquet data catalog."""

    source: Literal["replay"]
    catalog_path: Annotated[str, StringConstraints(min_length=1)] = Field(
        default="catalog", description="catalog directory; relative paths are in the workspace"
    )
    speed: PositiveRate | Literal["max"] = Field(
        default=1.0, description="1.0 real time, 10.0 ten times faster, or 'max'"
    )
    start: datetime | None = None
    end: datetime | None = None


FeedOptions = RandomWalkOptions | ReplayOptions
SOURCES: dict[str, type[RandomWalkOptions] | type[ReplayOptions]] = {
    "random_walk": RandomWalkOptions,
    "replay": ReplayOptions,
}


class FeedOptionsInvalid(ConfigInvalid, ValueError):
    """Bad feed options; ``issues`` carries one :class:`ConfigIssue` per bad field."""


def parse_options(raw: Mapping[str, Any], base: str = "options") -> FeedOptions:
    """Validate ``raw`` feed options and return the typed model.

    Parameters
    ----------
    raw : Mapping[str, Any]
        The client spec's ``options``.
    base : str
        The path of ``raw`` in the node config, e.g. ``data_clients[0].options``.

    Raises
    ------
    FeedOptionsInvalid
        With every bad field, each named ``{base}.{field}``.
    """
    source = raw.get("source")
    model = SOURCES.get(source) if isinstance(source, str) else None
    if model is None:
        expected = " or ".join(repr(s) for s in SOURCES)
        message = "required field is missing" if source is None else "unknown source"
        raise FeedOptionsInvalid(
            [ConfigIssue(join_path(base, "source"), f"{message}; expected {expected}", source)]
        )
    try:
        options = model.model_validate(dict(raw))
    except ValidationError as exc:
        raise FeedOptionsInvalid(_issues(exc, model, base)) from None
    issues = _cross_field_issues(options, base)
    if issues:
        raise FeedOptionsInvalid(issues)
    return options


def _issues(exc: ValidationError, model: type[BaseModel], base: str) -> list[ConfigIssue]:
    issues = []
    for err in exc.errors(include_url=False):
        path = join_path(base, *_field_loc(err["loc"]))
        kind = err["type"]
        if kind == "missing":
            issues.append(ConfigIssue(path, "required field is missing"))
            continue
        if kind == "extra_forbidden":
            fields = ", ".join(model.model_fields)
            message = f"unknown field; expected one of: {fields}"
        elif kind == "string_pattern_mismatch":
            message = "expected an instrument id SYMBOL.VENUE, e.g. EUR/USD.SIM"
        else:
            message = _FIELD_WORDS.get(str(err["loc"][0]), str(err["msg"]))
        issues.append(ConfigIssue(path, message, err.get("input")))
    # A union field fails once per member; report it once.
    unique: dict[str, ConfigIssue] = {}
    for issue in issues:
        unique.setdefault(issue.path, issue)
    return list(unique.values())


def _field_loc(loc: tuple[int | str, ...]) -> list[int | str]:
    # Union members add their type name to the location ("float", "literal['max']"): drop it.
    out: list[int | str] = []
    for i, part in enumerate(loc):
        if i == 0 or isinstance(part, int):
            out.append(part)
        elif out and out[0] == "start_prices" and i == 1:
            out.append(part)  # the dict key: the instrument id
        else:
            break  # a union member's type name, or a constraint's name
    return out


_FIELD_WORDS = {
    "rate": "expected quotes per second per instrument (a number > 0) or 'max'",
    "speed": "expected a replay speed (1.0 real time, 10.0 ten times faster) or 'max'",
    "seed": "expected a whole number >= 0",
    "volatility_bp": "expected a number of basis points > 0 and <= 1000",
    "spread_ticks": "expected a whole number of price increments >= 1",
    "trade_every": "expected a whole number >= 1",
    "history_bars": "expected a whole number of bars from 0 to 100000",
    "quote_size": "expected a size > 0",
    "book_levels": "expected a whole number of levels from 0 to 10",
    "start_prices": "expected instrument id -> a price > 0",
    "instrument_ids": "expected a non-empty list of instrument ids, e.g. ['EUR/USD.SIM']",
    "trades": "expected true or false",
    "start": "expected an ISO 8601 date-time, e.g. 2024-01-02T00:00:00Z",
    "end": "expected an ISO 8601 date-time, e.g. 2024-01-02T00:00:00Z",
    "catalog_path": "expected a directory path",
}


def _cross_field_issues(options: FeedOptions, base: str) -> list[ConfigIssue]:
    issues = []
    seen: set[str] = set()
    for i, iid in enumerate(options.instrument_ids):
        if iid in seen:
            issues.append(ConfigIssue(join_path(base, "instrument_ids", i), "duplicate", iid))
        seen.add(iid)
    if isinstance(options, RandomWalkOptions):
        for key in options.start_prices:
            if key not in seen:
                issues.append(
                    ConfigIssue(
                        join_path(base, "start_prices", key),
                        f"not among instrument_ids {sorted(seen)}",
                        key,
                    )
                )
    if (
        isinstance(options, ReplayOptions)
        and options.start
        and options.end
        and options.start >= options.end
    ):
        issues.append(ConfigIssue(join_path(base, "end"), "must be after start", str(options.end)))
    return issues
