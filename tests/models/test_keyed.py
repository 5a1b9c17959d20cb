"""The keyed band scrambler: exact inverse with the right key, scrambling with a wrong one."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from recanon_sdk.models.keyed import (
    BandScrambler,
    DeploymentKey,
    ScramblerConfig,
    block_dct,
    block_idct,
    dct_matrix,
    derive_code,
    hkdf_sha256,
)

torch.set_num_threads(1)


def _ycbcr_chroma(x: torch.Tensor) -> torch.Tensor:
    r, g, b = x.unbind(1)
    return torch.stack([-0.168736 * r - 0.331264 * g + 0.5 * b, 0.5 * r - 0.418688 * g - 0.081312 * b], 1)


def test_dct_is_orthonormal_and_block_transform_inverts() -> None:
    d = dct_matrix(8)
    assert torch.allclose(d @ d.T, torch.eye(8), atol=1e-6)
    x = torch.rand(2, 1, 16, 24)
    assert torch.allclose(block_idct(block_dct(x, d), d), x, atol=1e-5)


@settings(max_examples=15, deadline=None)
@given(
    bh=st.integers(1, 4),
    bw=st.integers(1, 4),
    lo=st.integers(0, 6),
    span=st.integers(0, 4),
    seed=st.integers(0, 2**16),
)
def test_scramble_then_unscramble_is_identity(bh: int, bw: int, lo: int, span: int, seed: int) -> None:
    s = BandScrambler(ScramblerConfig(min_diag=lo, max_diag=min(14, lo + span)))
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(2, 3, 8 * bh, 8 * bw, generator=g)
    key = s.random_key(2, 8 * bh, 8 * bw, generator=g)
    y = s.scramble(x, key)
    assert torch.allclose(s.unscramble(y, key), x, atol=1e-5)
    # orthogonal on luma, and chroma untouched
    assert torch.isfinite(y).all()
    assert torch.allclose(_ycbcr_chroma(y), _ycbcr_chroma(x), atol=1e-5)


def test_scrambling_preserves_energy_and_changes_only_the_band() -> None:
    s = BandScrambler(ScramblerConfig(min_diag=2, max_diag=5))
    x = torch.rand(1, 3, 32, 16)
    y = s.scramble(x, s.random_key(1, 32, 16, generator=torch.Generator().manual_seed(0)))
    d = dct_matrix(8)
    luma = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
    cx = block_dct((x * luma).sum(1, keepdim=True), d).reshape(-1, 64)
    cy = block_dct((y * luma).sum(1, keepdim=True), d).reshape(-1, 64)
    band = s.band_index
    outside = torch.ones(64, dtype=torch.bool)
    outside[band] = False
    assert torch.allclose(cx[:, outside], cy[:, outside], atol=1e-5)  # low and high bands unchanged
    assert torch.allclose(cx[:, band].square().sum(), cy[:, band].square().sum(), rtol=1e-4)  # energy kept
    assert not torch.allclose(cx[:, band], cy[:, band], atol=1e-3)  # but moved around


def test_wrong_key_does_not_unscramble() -> None:
    s = BandScrambler()
    x = torch.rand(1, 3, 64, 32)
    right = s.key_for_secret(b"a" * 32, 64, 32)
    wrong = s.key_for_secret(b"b" * 32, 64, 32)
    y = s.scramble(x, right)
    err_right = (s.unscramble(y, right) - x).abs().mean()
    err_wrong = (s.unscramble(y, wrong) - x).abs().mean()
    assert err_right < 1e-5 < err_wrong


def test_secret_derivation_is_deterministic_and_secret_dependent() -> None:
    a1 = DeploymentKey.from_secret(b"a" * 32, 500, code_dim=16)
    a2 = DeploymentKey.from_secret(b"a" * 32, 500, code_dim=16)
    b = DeploymentKey.from_secret(b"b" * 32, 500, code_dim=16)
    assert torch.equal(a1.perm, a2.perm) and torch.equal(a1.signs, a2.signs) and torch.equal(a1.code, a2.code)
    assert not torch.equal(a1.perm, b.perm)
    assert sorted(a1.perm[0].tolist()) == list(range(500))  # a permutation
    assert set(a1.signs.unique().tolist()) == {-1.0, 1.0}
    assert torch.equal(a1.inverse_perm[0][a1.perm[0]], torch.arange(500))


def test_hkdf_matches_rfc5869_test_case_1() -> None:
    ikm = bytes.fromhex("0b" * 22)
    salt = bytes.fromhex("000102030405060708090a0b0c")
    info = bytes.fromhex("f0f1f2f3f4f5f6f7f8f9")
    okm = hkdf_sha256(ikm, info, 42, salt=salt)
    expected = "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
    assert okm.hex() == expected


def test_derive_code_is_plus_minus_one() -> None:
    code = derive_code(bytes(range(32)), 37)
    assert code.shape == (1, 37)
    assert set(np.unique(code.numpy()).tolist()) <= {-1.0, 1.0}


@pytest.mark.parametrize("secret", [b"", b"short", bytes(33)])
def test_secrets_must_be_32_bytes(secret: bytes) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        DeploymentKey.from_secret(secret, 10)


def test_key_length_and_image_size_are_checked() -> None:
    s = BandScrambler()
    with pytest.raises(ValueError, match="multiple of 8"):
        s.num_coefficients(60, 32)
    key = s.random_key(1, 64, 32)
    with pytest.raises(ValueError, match="does not match"):
        s.scramble(torch.rand(1, 3, 32, 32), key)
