"""Names of environment variables the engine reads or must keep from its children.

A module of constants that imports nothing, so the earliest code of a launch (the CLI's
standby host start) can use them without importing the packages that own them.
"""

from typing import Final

ENV_PASSPHRASE: Final = "GATEWAY_KEYRING_PASSPHRASE"  # never passed on to a node host
