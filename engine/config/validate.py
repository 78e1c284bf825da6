"""Validate node configurations all the way down, reporting every problem at once.

Three layers, each adding issues with the field path:

1. structure (pydantic): types, slugs, ranges, unknown fields;
2. mode rules: which sections backtest, sandbox and live nodes need or forbid;
3. Nautilus (``deep=True``): import paths resolve, each strategy config is parsed by its
   own class, identifiers parse, and the real ``BacktestRunConfig`` / ``TradingNodeConfig``
   is built, so a config that validates also launches.
"""

from __future__ import annotations

import importlib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from engine.config.clients import ClientUnavailable, builder_for
from engine.config.issues import ConfigInvalid, ConfigIssue, join_path
from engine.config.model import (
    NODE_ID_PATTERN,
    AdapterKind,
    Mode,
    NodeConfig,
    StrategySpec,
)
from engine.workspace import Workspace

# Human words for the model's string patterns (pydantic would print the regex).
_PATTERN_WORDS = {
    NODE_ID_PATTERN: "a slug: lower-case letters, digits and inner hyphens, at most 64 chars",
    r"^[A-Za-z0-9_]+-[A-Za-z0-9_]+$": "NAME-TAG, e.g. TRADER-001",
    r"^[A-Z][A-Z0-9_]{0,31}$": "an upper-case id, e.g. SIM or BINANCE",
    r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$": "an import path 'package.module:ClassName'",
    r"^\d+(\.\d+)? [A-Z0-9]{2,10}$": "an amount and a currency, e.g. '1000000 USD'",
    r"^\d+/\d{2}:\d{2}:\d{2}$": "a rate 'N/HH:MM:SS', e.g. '100/00:00:01'",
    r"^[A-Z0-9]{2,10}$": "a currency code, e.g. USD",
}
_SIZE_FIELD = re.compile(r"(^|_)(size|qty|quantity|amount)($|_)")


@dataclass(slots=True)
class ValidationReport:
    """The outcome of validating one document."""

    config: NodeConfig | None
    issues: list[ConfigIssue] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.config is not None and not self.errors

    @property
    def errors(self) -> list[ConfigIssue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[ConfigIssue]:
        return [i for i in self.issues if i.severity == "warning"]

    def raise_for_errors(self, source: str | None = None) -> NodeConfig:
        if self.config is None or self.errors:
            raise ConfigInvalid(self.issues, source)
        return self.config


def validate_node(
    data: Mapping[str, Any] | NodeConfig,
    workspace: Workspace | None = None,
    *,
    deep: bool = True,
) -> ValidationReport:
    """Validate a node config document (or model) and return every issue found."""
    if isinstance(data, NodeConfig):
        config = data
    else:
        if not isinstance(data, Mapping):
            return ValidationReport(
                None, [ConfigIssue("", "expected a JSON object", type(data).__name__)]
            )
        try:
            config = NodeConfig.model_validate(dict(data))
        except ValidationError as exc:
            return ValidationReport(None, pydantic_issues(exc))
    issues = mode_issues(config)
    if deep and not issues:
        issues += nautilus_issues(config, workspace or Workspace.resolve())
    return ValidationReport(config, issues)


def pydantic_issues(exc: ValidationError) -> list[ConfigIssue]:
    """Translate pydantic errors into issues with our field paths and plain words."""
    issues = []
    for err in exc.errors(include_url=False):
        loc = [p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
        path = join_path(*loc)
        kind = err["type"]
        value = None if kind == "missing" else err.get("input")
        if path == "redis_url" and isinstance(value, str):
            from engine.state.target import mask_password

            value = mask_password(value)  # a password typed into the URL is never echoed
        if kind == "missing":
            message = "required field is missing"
        elif kind == "extra_forbidden":
            message = "unknown field" + _allowed_fields(exc, err["loc"])
        elif kind == "string_pattern_mismatch":
            pattern = (err.get("ctx") or {}).get("pattern", "")
            message = "expected " + _PATTERN_WORDS.get(pattern, f"text matching {pattern}")
        elif kind == "literal_error":
            message = "expected one of " + str((err.get("ctx") or {}).get("expected", ""))
        elif kind == "value_error":
            message = str(err["msg"]).removeprefix("Value error, ")
        else:
            message = err["msg"]
        issues.append(ConfigIssue(path, message, value))
    return issues


def _allowed_fields(exc: ValidationError, loc: tuple[int | str, ...]) -> str:
    # Walk the model along loc[:-1] to list the fields the user may have meant.
    model: Any = NodeConfig
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        info = getattr(model, "model_fields", {}).get(part)
        if info is None:
            return ""
        annotation = info.annotation
        inner = getattr(annotation, "__args__", None)
        model = inner[0] if inner else annotation
    fields = getattr(model, "model_fields", None)
    return f"; expected one of: {', '.join(fields)}" if fields else ""


def mode_issues(config: NodeConfig) -> list[ConfigIssue]:
    """Check which sections each mode needs or forbids, and names that must be unique."""
    issues: list[ConfigIssue] = []

    def add(path: str, message: str, value: Any = None) -> None:
        issues.append(ConfigIssue(path, message, value))

    for section in ("venues", "data_clients", "exec_clients"):
        seen: set[str] = set()
        for i, item in enumerate(getattr(config, section)):
            if item.name in seen:
                add(f"{section}[{i}].name", "duplicate name", item.name)
            seen.add(item.name)

    venue_names = {v.name for v in config.venues}
    if config.mode is Mode.BACKTEST:
        if not config.venues:
            add("venues", "a backtest needs at least one venue")
        for i, v in enumerate(config.venues):
            if not v.starting_balances:
                add(f"venues[{i}].starting_balances", "a backtest venue needs starting balances")
        if not config.data:
            add("data", "a backtest needs at least one data set")
        if not config.strategies:
            add("strategies", "a backtest needs at least one strategy")
        for section in ("data_clients", "exec_clients"):
            if getattr(config, section):
                add(section, "not used in backtest mode; remove it (data comes from `data`)")
        if config.redis_url is not None:
            add("redis_url", "not used in backtest mode: a backtest's cache stays in memory")
    else:
        if config.data:
            add("data", f"not used in {config.mode.value} mode; data comes from data_clients")
        if not config.data_clients:
            add("data_clients", f"a {config.mode.value} node needs at least one data client")
        if not config.exec_clients:
            add("exec_clients", f"a {config.mode.value} node needs at least one execution client")
        for section in ("data_clients", "exec_clients"):
            for i, c in enumerate(getattr(config, section)):
                _client_mode_issues(config, section, i, c, venue_names, add)
    return issues


def _client_mode_issues(
    config: NodeConfig, section: str, i: int, c: Any, venue_names: set[str], add: Any
) -> None:
    path = f"{section}[{i}]"
    needs_profile = c.adapter in {
        AdapterKind.BINANCE,
        AdapterKind.BYBIT,
        AdapterKind.INTERACTIVE_BROKERS,
    }
    if config.mode is Mode.SANDBOX:
        if section == "exec_clients" and c.adapter is not AdapterKind.SANDBOX:
            add(f"{path}.adapter", "sandbox nodes execute with the 'sandbox' adapter", c.adapter)
        if section == "exec_clients" and c.name not in venue_names:
            add(f"{path}.name", f"no venue with this name; expected one of {sorted(venue_names)}")
        if c.adapter is AdapterKind.SANDBOX and section == "exec_clients":
            venue = config.venue(c.name)
            if venue is not None and not venue.starting_balances:
                add(
                    f"venues[{config.venues.index(venue)}].starting_balances",
                    "a sandbox venue needs starting balances",
                )
    else:  # live
        if c.adapter in {AdapterKind.SANDBOX, AdapterKind.OFFLINE}:
            add(
                f"{path}.adapter",
                "live nodes use a venue adapter (binance, bybit, "
                "interactive_brokers); use mode 'sandbox' for simulated trading",
                c.adapter,
            )
        for j, v in enumerate(config.venues):
            if v.starting_balances:
                add(
                    f"venues[{j}].starting_balances",
                    "live accounts take balances from the venue; remove them",
                )
    if needs_profile and not c.profile:
        add(f"{path}.profile", f"a {c.adapter.value} client needs an adapter profile name")


def nautilus_issues(config: NodeConfig, workspace: Workspace) -> list[ConfigIssue]:
    """Check everything that needs NautilusTrader, then build its real config objects."""
    from nautilus_trader.model.identifiers import InstrumentId

    issues: list[ConfigIssue] = []
    for i, spec in enumerate(config.strategies):
        issues += strategy_issues(spec, f"strategies[{i}]")

    def check_instrument(path: str, value: str) -> None:
        try:
            iid = InstrumentId.from_str(value)
        except ValueError as exc:
            issues.append(
                ConfigIssue(path, f"expected an instrument id SYMBOL.VENUE ({exc})", value)
            )
            return
        if config.mode is Mode.BACKTEST and iid.venue.value not in {v.name for v in config.venues}:
            issues.append(
                ConfigIssue(
                    path,
                    f"venue {iid.venue.value} is not among venues "
                    f"{sorted(v.name for v in config.venues)}",
                    value,
                )
            )

    for i, d in enumerate(config.data):
        for j, iid in enumerate(d.instrument_ids):
            check_instrument(f"data[{i}].instrument_ids[{j}]", iid)
        for j, bar_type in enumerate(d.bar_types or []):
            issues += _parse_issue(f"data[{i}].bar_types[{j}]", bar_type, "BarType")
        seen = {issue.path for issue in issues}
        issues += [c for c in catalog_issues(config, i, workspace) if c.path not in seen]
    issues += balance_issues(config)
    for key in config.risk.max_notional_per_order:
        try:
            InstrumentId.from_str(key)
        except ValueError as exc:
            issues.append(
                ConfigIssue(
                    f"risk.max_notional_per_order.{key}",
                    f"expected an instrument id key ({exc})",
                    key,
                )
            )
    for section in ("data_clients", "exec_clients"):
        role = "data" if section == "data_clients" else "exec"
        for i, c in enumerate(getattr(config, section)):
            try:
                builder_for(role, c.adapter)  # type: ignore[arg-type]
            except ClientUnavailable as exc:
                issues.append(ConfigIssue(f"{section}[{i}].adapter", str(exc), c.adapter.value))
    if any(i.severity == "error" for i in issues):
        return issues
    issues += _build_issues(config, workspace)
    return issues


def catalog_issues(config: NodeConfig, i: int, workspace: Workspace) -> list[ConfigIssue]:
    """A backtest's data section must name a catalog that holds its instruments.

    The host refuses the same things at launch (engine.host.backtest); checking here makes
    a config that validates one that launches.
    """
    from engine.config.nautilus_build import catalog_path

    spec = config.data[i]
    field_path = f"data[{i}].catalog_path"
    path = catalog_path(spec, workspace)
    create = "create it: gateway demo init, or gateway data synth"
    try:
        path.stat()
    except FileNotFoundError:
        pass
    except OSError as exc:  # a name too long, a loop of links, no permission …
        reason = (exc.strerror or str(exc)).lower()
        return [
            ConfigIssue(field_path, f"cannot use this catalog path: {reason}", spec.catalog_path)
        ]
    if not path.exists():
        return [
            ConfigIssue(field_path, f"catalog {path} does not exist ({create})", spec.catalog_path)
        ]
    if not path.is_dir():
        return [
            ConfigIssue(
                field_path, f"{path} is a file; expected a catalog directory", spec.catalog_path
            )
        ]
    if not (path / "data").is_dir():
        return [
            ConfigIssue(
                field_path,
                f"{path} is not a data catalog (no data/ directory in it; {create})",
                spec.catalog_path,
            )
        ]
    try:
        from nautilus_trader.persistence.catalog import ParquetDataCatalog

        known = {inst.id.value for inst in ParquetDataCatalog(str(path)).instruments()}
    except Exception as exc:  # a damaged catalog fails in pyarrow with many types
        return [ConfigIssue(field_path, f"catalog {path} cannot be read: {exc}", spec.catalog_path)]
    return [
        ConfigIssue(
            f"data[{i}].instrument_ids[{j}]",
            f"instrument is not in catalog {path} (it has: {', '.join(sorted(known)) or 'none'})",
            iid,
        )
        for j, iid in enumerate(spec.instrument_ids)
        if iid not in known
    ]


def balance_issues(config: NodeConfig) -> list[ConfigIssue]:
    """Starting balances Nautilus's Money can hold (its range and 16 decimals at most)."""
    from nautilus_trader.model.objects import Money

    issues = []
    for i, venue in enumerate(config.venues):
        for j, balance in enumerate(venue.starting_balances):
            try:
                Money.from_str(balance)
            except Exception as exc:  # ValueError, or OverflowError beyond the Rust range
                issues.append(
                    ConfigIssue(
                        f"venues[{i}].starting_balances[{j}]",
                        f"expected an amount NautilusTrader can hold ({_short_reason(exc)})",
                        balance,
                    )
                )
    return issues


def _decimal_places(number: Decimal) -> int:
    # Not normalize(): it rounds to the context's 28 digits and would hide a 39th decimal.
    _sign, digits, exponent = number.as_tuple()
    if not isinstance(exponent, int) or exponent >= 0:
        return 0
    places = -exponent
    trailing = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    return max(places - trailing, 0)


def _short_reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= 120 else text[:119] + "…"


def _parse_issue(path: str, value: str, cls_name: str) -> list[ConfigIssue]:
    from nautilus_trader.model import data as model_data

    try:
        getattr(model_data, cls_name).from_str(value)
    except ValueError as exc:
        return [ConfigIssue(path, f"expected a {cls_name} ({exc})", value)]
    return []


def _build_issues(config: NodeConfig, workspace: Workspace) -> list[ConfigIssue]:
    from engine.config import nautilus_build

    try:
        if config.mode is Mode.BACKTEST:
            nautilus_build.backtest_run_config(config, workspace)
        else:
            nautilus_build.trading_node_parts(config, workspace)
    except ClientUnavailable as exc:
        return [ConfigIssue(exc.field, str(exc))]
    except ConfigInvalid as exc:  # a client builder's field-level issues (e.g. feed options)
        return list(exc.issues)
    except Exception as exc:  # Nautilus raises many types; each is a config problem here
        return [ConfigIssue("", f"NautilusTrader rejected the config: {exc}")]
    return []


def resolve_import(path: str) -> Any:
    """Import ``package.module:Name`` and return the object; raise ImportError with why."""
    module_name, _, attr = path.partition(":")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # a module may fail with any error at import time
        raise ImportError(f"cannot import module {module_name!r}: {exc}") from exc
    try:
        return getattr(module, attr)
    except AttributeError:
        raise ImportError(f"module {module_name!r} has no attribute {attr!r}") from None


def strategy_issues(spec: StrategySpec, base: str) -> list[ConfigIssue]:
    """Resolve a strategy's import paths and parse its config with its own class."""
    from nautilus_trader.trading.config import StrategyConfig
    from nautilus_trader.trading.strategy import Strategy

    issues: list[ConfigIssue] = []
    classes: dict[str, Any] = {}
    for name, base_cls in (("strategy_path", Strategy), ("config_path", StrategyConfig)):
        value = getattr(spec, name)
        try:
            obj = resolve_import(value)
        except ImportError as exc:
            issues.append(ConfigIssue(f"{base}.{name}", str(exc), value))
            continue
        if not (isinstance(obj, type) and issubclass(obj, base_cls)):
            issues.append(
                ConfigIssue(f"{base}.{name}", f"expected a subclass of {base_cls.__name__}", value)
            )
            continue
        classes[name] = obj
    if "config_path" in classes:
        issues += strategy_config_issues(classes["config_path"], spec.config, f"{base}.config")
    return issues


_AT_PATH = re.compile(r"^(?P<msg>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)
_MISSING = re.compile(r"Object missing required field `(?P<field>[^`]+)`")
_UNKNOWN = re.compile(r"Object contains unknown field `(?P<field>[^`]+)`")


def strategy_config_issues(cls: Any, values: Mapping[str, Any], base: str) -> list[ConfigIssue]:
    """Parse ``values`` with the strategy's config class and report every bad field.

    msgspec stops at the first error, so each bad field is recorded and set aside and the
    parse repeated; required fields that are missing are reported once each.
    """
    import msgspec

    fields = {f.name: f for f in msgspec.structs.fields(cls)}
    pending = dict(values)
    issues: list[ConfigIssue] = []
    for _ in range(len(fields) + len(values) + 1):
        try:
            parsed = cls.parse(msgspec.json.encode(pending))
        except (msgspec.ValidationError, msgspec.DecodeError, ValueError, TypeError) as exc:
            text = str(exc)
            missing = _MISSING.search(text)
            if missing:
                name = missing.group("field")
                issues.append(ConfigIssue(join_path(base, name), "required field is missing"))
                pending[name] = _placeholder(fields.get(name))
                if pending[name] is None:
                    break
                continue
            unknown = _UNKNOWN.search(text)
            if unknown and unknown.group("field") in pending:
                name = unknown.group("field")
                issues.append(
                    ConfigIssue(
                        join_path(base, name),
                        f"unknown field; expected one of: {', '.join(fields)}",
                        pending.pop(name),
                    )
                )
                continue
            match = _AT_PATH.match(text)
            sub = (match.group("path") if match else "") or ""
            key = sub.lstrip(".").split(".")[0].split("[")[0]
            message = match.group("msg") if match else text
            if key == "" or key not in pending:
                issues.append(ConfigIssue(base, message))
                break
            if key not in fields:
                message = f"unknown field; expected one of: {', '.join(fields)}"
            issues.append(ConfigIssue(f"{base}.{sub.lstrip('.')}", message, pending[key]))
            del pending[key]
            if key in fields and fields[key].required:
                replacement = _placeholder(fields[key])
                if replacement is None:
                    break
                pending[key] = replacement
            continue
        issues += _value_issues(cls, parsed, values, base, {i.path for i in issues})
        issues += _number_issues(cls, parsed, values, base, {i.path for i in issues})
        break
    return issues


def _placeholder(info: Any) -> Any:
    """A value that lets parsing go on past a bad required field (never stored)."""
    if info is None:
        return None
    from nautilus_trader.model.data import BarType
    from nautilus_trader.model.identifiers import InstrumentId

    samples: dict[Any, Any] = {
        InstrumentId: "AAA/BBB.SIM",
        BarType: "AAA/BBB.SIM-1-MINUTE-BID-INTERNAL",
        Decimal: "1",
        int: 1,
        float: 1.0,
        str: "x",
        bool: False,
    }
    return samples.get(info.type)


def _value_issues(
    cls: Any, parsed: Any, values: Mapping[str, Any], base: str, seen: set[str]
) -> list[ConfigIssue]:
    """Rules Nautilus's parse does not enforce: sizes and quantities must be positive."""
    import msgspec

    issues = []
    for f in msgspec.structs.fields(cls):
        path = f"{base}.{f.name}"
        value = getattr(parsed, f.name, None)
        if path in seen or f.name not in values or not _SIZE_FIELD.search(f.name):
            continue
        if isinstance(value, Decimal | int | float) and not isinstance(value, bool):
            # NaN first: comparing a Decimal NaN raises InvalidOperation (the node form's
            # deep check died on trade_size "NaN"), and NaN or infinity is never a size.
            finite = value.is_finite() if isinstance(value, Decimal) else math.isfinite(value)
            if not finite or value <= 0:
                issues.append(ConfigIssue(path, "expected a positive number", values[f.name]))
    return issues


def _number_issues(
    cls: Any, parsed: Any, values: Mapping[str, Any], base: str, seen: set[str]
) -> list[ConfigIssue]:
    """Numbers Nautilus cannot hold: any number not finite; a size beyond ``Quantity``'s
    maximum or precision (what validates must launch: 1e400 used to fail only there)."""
    import msgspec

    issues = []
    for f in msgspec.structs.fields(cls):
        path = f"{base}.{f.name}"
        value = getattr(parsed, f.name, None)
        if path in seen or f.name not in values:
            continue
        if not isinstance(value, Decimal | int | float) or isinstance(value, bool):
            continue
        problem = number_problem(value, quantity=bool(_SIZE_FIELD.search(f.name)))
        if problem:
            issues.append(ConfigIssue(path, problem, values[f.name]))
    return issues


def number_problem(value: Decimal | int | float, *, quantity: bool) -> str | None:
    """Why ``value`` cannot be used (None if it can): not finite; for a ``quantity``,
    not positive, beyond ``Quantity``'s maximum, or finer than its precision."""
    from nautilus_trader.model.objects import FIXED_PRECISION, QUANTITY_MAX, Quantity

    number = Decimal(value) if isinstance(value, int) else Decimal(str(value))
    if not number.is_finite():
        return "expected a finite positive number" if quantity else "expected a finite number"
    if not quantity:
        return None
    if number <= 0:
        return "expected a positive number"
    if number > Decimal(str(QUANTITY_MAX)):
        return f"expected at most {QUANTITY_MAX:,.0f} (NautilusTrader's largest quantity)"
    decimals = _decimal_places(number)
    if decimals > FIXED_PRECISION:
        return f"expected at most {FIXED_PRECISION} decimal places (got {decimals})"
    try:
        Quantity.from_str(format(number, "f"))
    except Exception as exc:  # ValueError/OverflowError from the Rust side
        return f"not a quantity NautilusTrader can hold ({_short_reason(exc)})"
    return None
