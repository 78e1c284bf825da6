"""Adapter profiles: which venue, environment and account, stored without secrets.

Public API
----------
- :mod:`engine.adapters.kinds`: ``AdapterKind``, ``Environment``, ``Family``, ``KINDS``.
- :mod:`engine.adapters.model`: ``AdapterProfile``, ``parse_profile``, ``ProfileInvalid``.
- :mod:`engine.adapters.store`: ``ProfileStore`` (``<workspace>/adapters/<name>.json``).
- :mod:`engine.adapters.service`: ``AdapterService`` (profiles + keyring secrets).
- :mod:`engine.adapters.probe`: ``probe`` / ``probe_async`` -> ``ProbeResult``.
- :mod:`engine.adapters.nautilus_configs`: ``build_client_configs`` -> ``NautilusClients``.

Nautilus is imported only by ``nautilus_configs``, and only when a config is built.
"""

from engine.adapters.kinds import KINDS, AdapterKind, Environment, Family, KindInfo, kind_info
from engine.adapters.model import (
    AdapterProfile,
    ProfileInvalid,
    ProfileIssue,
    is_valid_name,
    parse_profile,
)
from engine.adapters.service import AdapterService, ProfileView, check_secrets
from engine.adapters.store import (
    ListedProfile,
    ProfileCorrupt,
    ProfileError,
    ProfileExists,
    ProfileNotFound,
    ProfileStore,
)

__all__ = [
    "KINDS",
    "AdapterKind",
    "AdapterProfile",
    "AdapterService",
    "Environment",
    "Family",
    "KindInfo",
    "ListedProfile",
    "ProfileCorrupt",
    "ProfileError",
    "ProfileExists",
    "ProfileInvalid",
    "ProfileIssue",
    "ProfileNotFound",
    "ProfileStore",
    "ProfileView",
    "check_secrets",
    "is_valid_name",
    "kind_info",
    "parse_profile",
]
