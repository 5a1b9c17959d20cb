"""The per-deployment secret of keyed models (GX/GY), derived from the device key.

A keyed GX on the device and the keyed GY of the key holders must share one 32-byte secret per
deployment (docs/models.md, "keyed band scrambling"). recanon derives it from what the device
already holds, instead of adding another secret file to keep:

    secret = HKDF-SHA256(ikm = device Ed25519 seed, salt = deployment id (ASCII),
                         info = "recanon/v1/model-secret/" || purpose)

so the device computes it at start-up, and whoever seals GY for the holders
(``recanon keys seal-gy``, on the device or the administrator's machine with the device key) puts
it inside the sealed GY bundle. Holders never need the device key. A stolen device key reveals the
secret (as a stolen device reveals GX anyway); docs/security.md says what follows.

>>> from recanon_keys import create_deployment, generate_device_key
>>> device = generate_device_key("cam")
>>> dep = create_deployment("lobby", device_key=device, holders=[])
>>> secret = derive_model_secret(device, dep)
>>> len(secret), secret == derive_model_secret(device, dep)
(32, True)
"""

from __future__ import annotations

import re

from ._format.bundle import hkdf
from .deployments import Deployment
from .errors import WrongDeployment
from .identities import DeviceKey

__all__ = ["derive_model_secret"]

INFO_MODEL_SECRET = b"recanon/v1/model-secret/"
_PURPOSE = re.compile(r"[a-z0-9-]{1,32}")


def derive_model_secret(device_key: DeviceKey, deployment: Deployment, purpose: str = "gx") -> bytes:
    """The 32-byte secret of ``purpose`` (``"gx"``: the GX/GY pair) for ``deployment``.

    Raises ``WrongDeployment`` if ``device_key`` is not the deployment's device key.
    """
    if not isinstance(device_key, DeviceKey):
        raise TypeError("device_key must be a DeviceKey (see load_device_key)")
    if not _PURPOSE.fullmatch(purpose):
        raise ValueError("purpose must be 1-32 characters of a-z, 0-9 and '-'")
    if device_key.key_id != deployment.device.key_id:
        raise WrongDeployment(
            f"deployment {deployment.name!r} belongs to device {deployment.device.key_id}, "
            f"not to {device_key.key_id}",
            hint="use the device key the deployment was created with",
        )
    return hkdf(
        device_key._secret_bytes(),
        deployment.deployment_id.encode("ascii"),
        INFO_MODEL_SECRET + purpose.encode(),
    )
