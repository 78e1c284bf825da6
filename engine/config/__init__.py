"""Node configurations: model, validation, store, migrations, and Nautilus builders."""

from engine.config.issues import ConfigInvalid, ConfigIssue
from engine.config.model import SCHEMA_VERSION, Mode, NodeConfig
from engine.config.store import ConfigStore, NodeNotFound, StoredNode
from engine.config.validate import ValidationReport, validate_node

__all__ = [
    "SCHEMA_VERSION",
    "ConfigInvalid",
    "ConfigIssue",
    "ConfigStore",
    "Mode",
    "NodeConfig",
    "NodeNotFound",
    "StoredNode",
    "ValidationReport",
    "validate_node",
]
