"""Fixtures of the recanon_keys tests: deterministic keys and deployments (see make_vectors.Fixtures)."""

from __future__ import annotations

import make_vectors
import pytest


@pytest.fixture(scope="session")
def fx() -> make_vectors.Fixtures:
    return make_vectors.Fixtures()


@pytest.fixture
def weak_kdf() -> dict[str, object]:
    """Keyword arguments that make passphrase-protected key files fast to open (tests only)."""
    return {"kdf_params": make_vectors.WEAK_KDF, "unsafe_weak_kdf": True}
