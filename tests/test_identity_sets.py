"""The recovery rows of benchmarks/identity_sets.py: region PSNR and the keyless attacker's weights."""

from __future__ import annotations

import numpy as np

from tests.conftest import load_script


def _identity_sets():
    return load_script("benchmarks/identity_sets.py")


def test_region_psnr_counts_only_the_anonymized_regions():
    bench = _identity_sets()
    raw = np.full((40, 30, 3), 100, np.uint8)
    out = raw.copy()
    out[:10] = 0  # outside the region: must not count
    out[20:30, 10:20] = 110  # inside: an error of 10 on every pixel → 10·log10(255²/100)
    regions = [np.array([[10, 20, 20, 30]])]
    assert abs(bench.region_psnr([out], [raw], regions) - 10 * np.log10(255**2 / 100)) < 1e-9
    assert np.isnan(bench.region_psnr([out], [raw], [np.zeros((0, 4), int)]))  # no region, no figure


def test_a_saved_attacker_runs_as_an_unkeyed_recoverer(tmp_path):
    from recanon_sdk.models import create_model
    from recanon_sdk.models.recover import GYRecoverer
    from recanon_sdk.models.weights import save_model

    attacker = create_model("gy_unet_s", keyed=False)
    path = save_model(tmp_path / "attacker.safetensors", attacker, "gy_unet_s", {"keyed": False}, (128, 64))
    loaded = GYRecoverer(path, None)  # what --attacker builds: no secret needed, none used
    assert loaded.key is None and loaded.input_size == (128, 64)
    crop = np.random.default_rng(0).integers(0, 256, (90, 40, 3), dtype=np.uint8)
    (recovered,) = loaded.recover([crop])
    assert recovered.shape == crop.shape and recovered.dtype == np.uint8
