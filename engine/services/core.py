"""``Services``: every service of one workspace, sharing one NodeManager."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from engine.manager import NodeManager
from engine.services.adapters import AdapterProfiles
from engine.services.audit import AuditService
from engine.services.configs import ConfigService
from engine.services.nodes import NodeService
from engine.services.orders import OrderService
from engine.services.recovery import RecoveryService
from engine.services.risk import RiskService
from engine.services.runs import RunService
from engine.services.state import StateService
from engine.services.telemetry import TelemetryService
from engine.services.tokens import TokenStore
from engine.workspace import Workspace


@dataclass
class Services:
    """The service core for one workspace (one per process: it owns the NodeManager)."""

    workspace: Workspace
    manager: NodeManager = field(init=False)
    configs: ConfigService = field(init=False)
    nodes: NodeService = field(init=False)
    runs: RunService = field(init=False)
    telemetry: TelemetryService = field(init=False)
    audit: AuditService = field(init=False)
    orders: OrderService = field(init=False)
    risk: RiskService = field(init=False)
    recovery: RecoveryService = field(init=False)
    state: StateService = field(init=False)
    tokens: TokenStore = field(init=False)
    adapters: AdapterProfiles = field(init=False)

    def __post_init__(self) -> None:
        from engine.migrate.guard import WorkspaceRefused, check_workspace
        from engine.services.errors import ServiceError

        try:  # a newer gateway's workspace is refused before anything reads or writes it
            check_workspace(self.workspace)
        except WorkspaceRefused as exc:
            raise ServiceError("invalid", str(exc), field="schema_version") from None
        self.manager = NodeManager(self.workspace)
        self.configs = ConfigService(self.workspace)
        self.nodes = NodeService(self.workspace, self.manager)
        self.runs = RunService(self.workspace)
        self.telemetry = TelemetryService(self.workspace)
        self.audit = AuditService(self.workspace)
        self.orders = OrderService(self.manager)
        self.risk = RiskService(self.workspace)
        self.recovery = RecoveryService(self.workspace)
        self.state = StateService(self.workspace, self.manager)
        self.tokens = TokenStore(self.workspace)
        self.adapters = AdapterProfiles(self.workspace)

    @classmethod
    def open(cls, workspace: str | Path | None = None) -> Services:
        """The services of ``workspace`` (default: ``$GATEWAY_HOME`` or ``./.gateway``)."""
        return cls(Workspace.resolve(workspace))
