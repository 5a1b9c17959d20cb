"""The model secret is derived from the device key: fixed vector, independent per deployment and device."""

from __future__ import annotations

import make_vectors
import pytest
import recanon_keys as rk


def test_fixed_vector(fx) -> None:
    # Known answer for the vector fixtures (device cam-01, deployment lobby): a change of the
    # derivation would silently break every deployed GX/GY pair, so it must fail here first.
    assert rk.derive_model_secret(fx.device, fx.lobby).hex() == (
        "7c9351a280f7f4a999bf9abba774f11f2d52136502615fb82ad425a1c5185246"
    )


def test_independent_per_deployment_purpose_and_device(fx) -> None:
    secrets = {
        rk.derive_model_secret(fx.device, fx.lobby),
        rk.derive_model_secret(fx.device, fx.dock),  # same device, other deployment
        rk.derive_model_secret(fx.device, fx.lobby, purpose="other"),
        rk.derive_model_secret(fx.other_device, fx.garage),
    }
    assert len(secrets) == 4 and all(len(s) == 32 for s in secrets)


def test_only_the_deployments_device_key_derives_it(fx) -> None:
    with pytest.raises(rk.WrongDeployment):
        rk.derive_model_secret(fx.other_device, fx.lobby)
    with pytest.raises(ValueError):
        rk.derive_model_secret(fx.device, fx.lobby, purpose="Bad Purpose")
    with pytest.raises(TypeError):
        rk.derive_model_secret(fx.alice, fx.lobby)  # type: ignore[arg-type]


def test_the_secret_depends_on_the_deployment_id_not_on_the_file_version(fx) -> None:
    # the fixtures are deterministic: rebuilt, they give the same device, deployment and secret
    again = make_vectors.Fixtures()
    assert rk.derive_model_secret(again.device, again.lobby) == rk.derive_model_secret(fx.device, fx.lobby)
    # the v1 file of the same deployment (same id): same secret, so upgrading a deployment file to v2
    # keeps every deployed GX/GY pair working
    assert fx.lobby_v1.deployment_id == fx.lobby.deployment_id and fx.lobby_v1.version == 1
    assert rk.derive_model_secret(fx.device, fx.lobby_v1) == rk.derive_model_secret(fx.device, fx.lobby)
