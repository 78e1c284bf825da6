"""The risk state that survives a restart or a kill -9: trading state, limits and what the
loss limits are measured from (the day's PnL so far, the equity peak: ``loss_day``).

``.gateway/state/<node_id>/risk.json``, written atomically by the node host (its one
writer) at every change, before the change is reported; read by the next host of the node
before its strategies start, so a halted node comes back halted. Without the file a node
starts ACTIVE with its config's limits.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from engine.atomic import atomic_write_text
from engine.migrate.versions import NewerVersion, check_version
from engine.risk.limits import TRADING_STATES, RiskLimits, TradingStateName
from engine.risk.loss_day import LossBaseline
from engine.workspace import Workspace

SCHEMA_VERSION = 1


class RiskStateError(RuntimeError):
    """The stored risk state cannot be read: the node must not start trading on a guess."""


@dataclass(frozen=True, slots=True)
class RiskState:
    trading_state: TradingStateName
    limits: RiskLimits
    changed_by: str = ""
    changed_at: str = ""
    reason: str = ""
    loss: LossBaseline | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "trading_state": self.trading_state,
            "limits": self.limits.describe(),
            "changed_by": self.changed_by,
            "changed_at": self.changed_at,
            "reason": self.reason,
        }
        if self.loss is not None:
            data["loss_baseline"] = self.loss.to_dict()
        return data


def state_path(workspace: Workspace, node_id: str) -> Path:
    return workspace.root / "state" / node_id / "risk.json"


def load(workspace: Workspace, node_id: str) -> RiskState | None:
    """The stored state, ``None`` when there is none; ``RiskStateError`` when unreadable."""
    path = state_path(workspace, node_id)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise RiskStateError(f"cannot read {path}: {exc.strerror}") from None
    try:
        data = json.loads(raw.decode("utf-8"))
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        check_version(data, "schema_version", str(path), SCHEMA_VERSION, missing=None)
        state = data.get("trading_state")
        if state not in TRADING_STATES:
            raise ValueError(f"trading_state {state!r}, expected one of {TRADING_STATES}")
        limits = RiskLimits.model_validate(data.get("limits") or {})
        loss = data.get("loss_baseline")
        baseline = None if loss is None else LossBaseline.from_dict(loss)
    except NewerVersion as exc:
        raise RiskStateError(str(exc)) from None
    except (UnicodeDecodeError, ValueError, RecursionError, ValidationError) as exc:
        raise RiskStateError(f"{path} is damaged ({exc}); fix or remove it") from None
    return RiskState(
        trading_state=state,
        limits=limits,
        changed_by=str(data.get("changed_by", "")),
        changed_at=str(data.get("changed_at", "")),
        reason=str(data.get("reason", "")),
        loss=baseline,
    )


def save(workspace: Workspace, node_id: str, state: RiskState) -> None:
    atomic_write_text(
        state_path(workspace, node_id), json.dumps(state.to_dict(), indent=2) + "\n", 0o600
    )


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")
