"""``recanon keys …``: deployments, key holders, sealed model bundles. Thin layer over ``recanon_keys``.

One module per group of commands: ``holders`` (holder new/pub/add/remove), ``deployment`` (init,
upgrade, inspect), ``bundles`` (seal, seal-gy, open, rewrap); ``_common`` holds the apps, options,
error handling and key I/O that other command groups (anonymize, recover, eval, export) reuse.
"""

from __future__ import annotations

from . import bundles, deployment, holders
from ._common import (
    PASSPHRASE_ENV,
    _errors,
    _load_deployment,
    _load_private,
    _passphrase,
    _read,
    app,
    holder_app,
)

__all__ = [
    "PASSPHRASE_ENV",
    "_errors",
    "_load_deployment",
    "_load_private",
    "_passphrase",
    "_read",
    "app",
    "bundles",
    "deployment",
    "holder_app",
    "holders",
]
