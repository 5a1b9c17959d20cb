"""Per-deployment keyed conditioning of GX and GY (a recanon extension of arXiv 2409.02715).

The paper trains one GX/GY pair; whoever holds GY recovers every deployment. recanon ties
recovery to a per-deployment 32-byte secret. A short CPU probe showed that feeding a secret only
as an extra input (FiLM, extra channels) is *ignored* by the networks: a wrong secret recovered as
well as the right one. So the key acts through an explicit, exactly invertible transform that the
networks cannot learn around:

**Keyed band scrambling.** Take the luma channel ``Y = 0.299 R + 0.587 G + 0.114 B`` of GX's
output, split it into 8×8 blocks, take each block's orthonormal DCT (the basis JPEG and, roughly,
H.264 quantise in), and collect the coefficients of a mid-frequency band (anti-diagonals
``min_diag ≤ u + v ≤ max_diag``; the low band, where a σ≈5 blur lives, is left alone). All band
coefficients of the whole image are permuted and sign-flipped by a key-derived permutation ``π_k``
and signs ``s_k``: ``c'_i = s_k[i] · c_{π_k[i]}``. The change of luma is added equally to R, G, B,
which changes Y by exactly that amount and leaves Cb/Cr untouched. The transform is orthogonal,
so GY undoes it exactly with the right key (``c_{π_k[i]} = s_k[i] · c'_i``); with a wrong key the
hidden mid-band content comes back spatially shuffled, i.e. as noise.

GX therefore only needs to place recovery information in the mid band; the key makes it look like
(and, to anyone without the key, behave like) texture noise. Training draws a fresh random key per
sample, so one GX/GY pair serves every deployment; a deployment's key is derived from its secret
with HKDF-SHA256 (RFC 5869) and SHAKE-256, independent of library versions.

This is learned obfuscation keyed by a secret, not encryption: energy per band survives, and a
known-plaintext attacker with many raw/enhanced pairs of one deployment could estimate ``π_k``.

An optional *code* (``derive_code``: ±1 vector from the secret) can additionally condition the
networks through FiLM (``code_dim`` in the generator configs); it is off by default.

>>> key = DeploymentKey.from_secret(bytes(32), num_coefficients=10)
>>> key.perm.shape, key.signs.shape
(torch.Size([1, 10]), torch.Size([1, 10]))
>>> bool((DeploymentKey.from_secret(bytes(32), 10).perm == key.perm).all())
True

Licence: AGPL-3.0-or-later (recanon).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import nn

from recanon_sdk.deployment_key import derive_code_array, derive_key_arrays, hkdf_sha256

__all__ = [
    "BandScrambler",
    "DeploymentKey",
    "KeyedEnhancer",
    "KeyedRecoverer",
    "ScramblerConfig",
    "block_dct",
    "block_idct",
    "dct_matrix",
    "derive_code",
    "hkdf_sha256",
    "straight_through_clamp",
]


def derive_code(secret: bytes, dim: int) -> torch.Tensor:
    """A ±1 code vector of length ``dim`` derived from a 32-byte deployment secret, shape ``(1, dim)``."""
    return torch.from_numpy(derive_code_array(secret, dim))[None]


@dataclass
class DeploymentKey:
    """Per-sample keys: a permutation and signs over the scrambled coefficients, plus an optional code.

    ``perm`` is ``(B, N)`` int64, ``signs`` ``(B, N)`` float ±1, ``code`` ``(B, code_dim)`` or ``None``.
    """

    perm: torch.Tensor
    signs: torch.Tensor
    code: torch.Tensor | None = None
    _inverse: torch.Tensor | None = field(default=None, repr=False)

    @property
    def inverse_perm(self) -> torch.Tensor:
        if self._inverse is None:
            self._inverse = torch.argsort(self.perm, dim=1)
        return self._inverse

    @property
    def batch_size(self) -> int:
        return self.perm.shape[0]

    @classmethod
    def from_secret(cls, secret: bytes, num_coefficients: int, code_dim: int = 0) -> DeploymentKey:
        """The key of one deployment (batch size 1), derived deterministically from its secret."""
        perm, signs, code = derive_key_arrays(secret, num_coefficients, code_dim)
        return cls(
            torch.from_numpy(perm)[None],
            torch.from_numpy(signs)[None],
            None if code is None else torch.from_numpy(code)[None],
        )

    @classmethod
    def random(
        cls,
        batch_size: int,
        num_coefficients: int,
        code_dim: int = 0,
        generator: torch.Generator | None = None,
    ) -> DeploymentKey:
        """Fresh uniformly random keys (training draws one per sample)."""
        perm = torch.stack([torch.randperm(num_coefficients, generator=generator) for _ in range(batch_size)])
        signs = torch.randint(0, 2, (batch_size, num_coefficients), generator=generator).float() * 2 - 1
        code = None
        if code_dim:
            code = torch.randint(0, 2, (batch_size, code_dim), generator=generator).float() * 2 - 1
        return cls(perm, signs, code)

    def expand(self, batch_size: int) -> DeploymentKey:
        """Repeat a batch-1 key for ``batch_size`` samples."""
        if self.batch_size == batch_size:
            return self
        if self.batch_size != 1:
            raise ValueError(f"cannot expand a key of batch {self.batch_size} to {batch_size}")
        code = None if self.code is None else self.code.expand(batch_size, -1)
        return DeploymentKey(self.perm.expand(batch_size, -1), self.signs.expand(batch_size, -1), code)

    def to(self, device: torch.device | str) -> DeploymentKey:
        code = None if self.code is None else self.code.to(device)
        return DeploymentKey(self.perm.to(device), self.signs.to(device), code)


# --- the orthonormal 8×8 block DCT ----------------------------------------------------------------


def dct_matrix(n: int = 8, device: torch.device | str | None = None) -> torch.Tensor:
    """The orthonormal DCT-II matrix ``D`` (``D @ D.T == I``); a block's coefficients are ``D X Dᵀ``."""
    k = torch.arange(n, dtype=torch.float64)[:, None]
    i = torch.arange(n, dtype=torch.float64)[None, :]
    d = torch.cos(math.pi * (2 * i + 1) * k / (2 * n)) * math.sqrt(2 / n)
    d[0] /= math.sqrt(2)
    return d.to(device=device, dtype=torch.float32)


def block_dct(x: torch.Tensor, d: torch.Tensor) -> torch.Tensor:
    """``(B, C, H, W)`` → ``(B, C, H/n, W/n, n, n)`` per-block DCT coefficients."""
    b, c, h, w = x.shape
    n = d.shape[0]
    blocks = x.reshape(b, c, h // n, n, w // n, n).permute(0, 1, 2, 4, 3, 5)
    return d @ blocks @ d.T


def block_idct(coef: torch.Tensor, d: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`block_dct`."""
    b, c, nby, nbx, n, _ = coef.shape
    blocks = d.T @ coef @ d
    return blocks.permute(0, 1, 2, 4, 3, 5).reshape(b, c, nby * n, nbx * n)


def straight_through_clamp(x: torch.Tensor, lo: float = 0.0, hi: float = 1.0) -> torch.Tensor:
    """Clamp in the forward pass, identity gradient in the backward pass."""
    return x + (x.clamp(lo, hi) - x).detach()


# --- the keyed band scrambler ---------------------------------------------------------------------


@dataclass(frozen=True)
class ScramblerConfig:
    block: int = 8
    min_diag: int = 2  # lowest anti-diagonal u+v that is scrambled (0 = DC)
    max_diag: int = 5  # highest anti-diagonal u+v that is scrambled


_LUMA = (0.299, 0.587, 0.114)


class BandScrambler(nn.Module):
    """The keyed, orthogonal mid-band luma scrambler (see the module docstring)."""

    def __init__(self, cfg: ScramblerConfig | None = None) -> None:
        super().__init__()
        self.cfg = cfg = cfg or ScramblerConfig()
        if not 0 <= cfg.min_diag <= cfg.max_diag <= 2 * (cfg.block - 1):
            raise ValueError("need 0 <= min_diag <= max_diag <= 2*(block-1)")
        uv = [
            (u, v)
            for u in range(cfg.block)
            for v in range(cfg.block)
            if cfg.min_diag <= u + v <= cfg.max_diag
        ]
        self.register_buffer("dct", dct_matrix(cfg.block), persistent=False)
        self.register_buffer("band_index", torch.tensor([u * cfg.block + v for u, v in uv]), persistent=False)
        self.register_buffer("luma", torch.tensor(_LUMA).view(1, 3, 1, 1), persistent=False)

    @property
    def band_size(self) -> int:
        """Coefficients per block in the scrambled band."""
        return int(self.band_index.numel())

    def num_coefficients(self, height: int, width: int) -> int:
        """How many coefficients one ``height × width`` image scrambles (the key length)."""
        self._check_size(height, width)
        return (height // self.cfg.block) * (width // self.cfg.block) * self.band_size

    def _check_size(self, height: int, width: int) -> None:
        if height % self.cfg.block or width % self.cfg.block:
            raise ValueError(f"image size {height}x{width} must be a multiple of {self.cfg.block}")

    def _transform(self, x: torch.Tensor, key: DeploymentKey, inverse: bool) -> torch.Tensor:
        b, _, h, w = x.shape
        if key.perm.shape[1] != self.num_coefficients(h, w):
            raise ValueError(
                f"key length {key.perm.shape[1]} does not match a {h}x{w} image "
                f"({self.num_coefficients(h, w)} coefficients)"
            )
        key = key.expand(b)
        y = (x * self.luma).sum(1, keepdim=True)
        coef = block_dct(y, self.dct)  # (B, 1, nby, nbx, n, n)
        shape = coef.shape
        flat = coef.reshape(b, -1, self.cfg.block**2)
        band = flat[:, :, self.band_index].reshape(b, -1)  # (B, N), block-major
        if inverse:  # c = s ⊙ c' gathered back through π⁻¹
            new = torch.gather(band * key.signs, 1, key.inverse_perm)
        else:  # c'_i = s_i · c_{π_i}
            new = torch.gather(band, 1, key.perm) * key.signs
        delta = torch.zeros_like(flat)
        delta[:, :, self.band_index] = (new - band).reshape(b, -1, self.band_size)
        dy = block_idct(delta.reshape(shape), self.dct)
        return x + dy  # adding Δ to R, G and B changes Y by Δ and leaves chroma alone

    def band_luma(self, x: torch.Tensor) -> torch.Tensor:
        """The luma of ``x`` restricted to the scrambled band, ``(B, 1, H, W)``.

        Adding it to R, G and B changes the luma by exactly that much (the weights sum to 1).
        """
        return self.diagonals_luma(x, self.cfg.min_diag, self.cfg.max_diag)

    def diagonals_luma(self, x: torch.Tensor, low: int, high: int) -> torch.Tensor:
        """The luma of ``x`` restricted to the anti-diagonals ``low ≤ u+v ≤ high`` of each block's DCT,
        ``(B, 1, H, W)`` (:meth:`band_luma` is the scrambled band's)."""
        self._check_size(*x.shape[-2:])
        n = self.cfg.block
        u = torch.arange(n, device=x.device)
        diag = u[:, None] + u[None, :]
        mask = ((diag >= low) & (diag <= high)).to(x.dtype)
        y = (x * self.luma).sum(1, keepdim=True)
        return block_idct(block_dct(y, self.dct) * mask, self.dct)

    def scramble(self, x: torch.Tensor, key: DeploymentKey) -> torch.Tensor:
        """Scramble the mid-band luma of ``x`` (``(B, 3, H, W)``) with ``key``."""
        return self._transform(x, key, inverse=False)

    def unscramble(self, x: torch.Tensor, key: DeploymentKey) -> torch.Tensor:
        """Exact inverse of :meth:`scramble` with the same key."""
        return self._transform(x, key, inverse=True)

    def key_for_secret(self, secret: bytes, height: int, width: int, code_dim: int = 0) -> DeploymentKey:
        return DeploymentKey.from_secret(secret, self.num_coefficients(height, width), code_dim)

    def random_key(
        self,
        batch_size: int,
        height: int,
        width: int,
        code_dim: int = 0,
        generator: torch.Generator | None = None,
    ) -> DeploymentKey:
        return DeploymentKey.random(batch_size, self.num_coefficients(height, width), code_dim, generator)


# --- GX and GY: a generator wrapped by the keyed transform ----------------------------------------


class _Keyed(nn.Module):
    """A generator plus (optionally) the band scrambler. ``net(x, code)`` maps images to images."""

    def __init__(self, net: nn.Module, scrambler: BandScrambler | None) -> None:
        super().__init__()
        self.net = net
        self.scrambler = scrambler

    @property
    def keyed(self) -> bool:
        return self.scrambler is not None

    @property
    def code_dim(self) -> int:
        return int(getattr(self.net, "code_dim", 0))

    def key_for_secret(self, secret: bytes, height: int, width: int) -> DeploymentKey | None:
        if self.scrambler is None:
            return None
        return self.scrambler.key_for_secret(secret, height, width, self.code_dim)

    def random_key(
        self, batch_size: int, height: int, width: int, generator: torch.Generator | None = None
    ) -> DeploymentKey | None:
        if self.scrambler is None:
            return None
        return self.scrambler.random_key(batch_size, height, width, self.code_dim, generator)


class KeyedEnhancer(_Keyed):
    """GX: raw portrait ``x`` → privacy-enhanced portrait ``y = clamp(S_k(net(x)))``, values in [0, 1].

    With ``pin`` (a :class:`~recanon_sdk.models.pinned.PinnedOutput`), the network's output is
    first pinned to the desensitized target outside the keyed band: ``y = clamp(S_k(pin(x, net(x))))``.
    """

    def __init__(self, net: nn.Module, scrambler: BandScrambler | None, pin: nn.Module | None = None) -> None:
        super().__init__(net, scrambler)
        if pin is not None and scrambler is None:
            raise ValueError("a pinned GX needs the keyed band (keyed=True)")
        self.pin = pin

    @property
    def pins_heads(self) -> bool:
        """Whether this GX pins only where heads are (it then takes a ``pin_mask``, see :meth:`forward`)."""
        return self.pin is not None and bool(self.pin.cfg.head)

    def forward(
        self, x: torch.Tensor, key: DeploymentKey | None = None, pin_mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """``pin_mask`` ``(B, 1, H, W)``, 1 where a head is, for a head-pinned GX (:attr:`pins_heads`);
        without one such a GX pins the whole portrait. Other GX ignore it."""
        code = None if key is None else key.code
        u = self.net(x, code)
        if self.pin is not None:
            u = self.pin(x, u, pin_mask)
        if self.scrambler is not None:
            if key is None:
                raise ValueError("a keyed GX needs a DeploymentKey")
            u = self.scrambler.scramble(u, key)
        return straight_through_clamp(u)


class KeyedRecoverer(_Keyed):
    """GY: privacy-enhanced portrait ``y`` → recovered portrait ``x̂ = clamp(net(S_k⁻¹(y)))``."""

    def forward(self, y: torch.Tensor, key: DeploymentKey | None = None) -> torch.Tensor:
        code = None if key is None else key.code
        if self.scrambler is not None:
            if key is None:
                raise ValueError("a keyed GY needs a DeploymentKey")
            y = self.scrambler.unscramble(y, key)
        return straight_through_clamp(self.net(y, code))
