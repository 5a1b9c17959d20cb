"""The rows ``recanon eval`` measures: every enhancer, GX, GY and an attacker, each through the codec.

``raw`` is the codec alone (the ceiling); ``resampled`` the raw portrait at GX's input size and back
with no network between (what any generator of that size can at best keep); ``blur``,
``pixelate`` and ``mask`` the classic enhancers at their defaults; ``gx`` the packaged or a given GX,
keyed with the run's secret (given the heads P finds on the raw portrait when it is head-pinned).
Each output goes through libx264 (:func:`recanon_sdk.models.codec.x264_roundtrip`, the portraits as
consecutive frames); GY's rows (``gy_right``, ``gy_wrong``) and the ``attacker``'s then undo GX's
decoded output.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from recanon_sdk.portraits import portrait_heads

__all__ = [
    "METHODS",
    "check_methods",
    "classic_enhancer",
    "gy_pair",
    "keyless_attacker",
    "method_outputs",
    "resampled",
]

#: The rows ``recanon eval`` can measure (GY's rows come with ``gx`` when GY weights are given).
METHODS = ("raw", "resampled", "blur", "pixelate", "mask", "gx")


def check_methods(names: Sequence[str]) -> None:
    """Raise :class:`ValueError` naming the first of ``names`` that is not in :data:`METHODS`.

    >>> check_methods(["raw", "gx"])
    >>> check_methods(["sharpen"])
    Traceback (most recent call last):
    ValueError: unknown method 'sharpen': choose from raw, resampled, blur, pixelate, mask, gx
    """
    for name in names:
        if name not in METHODS:
            raise ValueError(f"unknown method '{name}': choose from {', '.join(METHODS)}")


def resampled(crops: Sequence[np.ndarray], size: tuple[int, int]) -> list[np.ndarray]:
    """The crops taken to a generator's input ``size`` (h, w) and back, exactly as the pipeline
    resamples them around GX and GY (:mod:`recanon_sdk.crops`), with no network between:
    what any generator at that size can at best give back.

    >>> out = resampled([np.full((256, 128, 3), 200, np.uint8)], (128, 64))
    >>> out[0].shape, int(out[0].min()), int(out[0].max())
    ((256, 128, 3), 200, 200)
    """
    from recanon_sdk.crops import batch_to_crops, crops_to_batch

    return batch_to_crops(crops_to_batch(crops, size), [c.shape for c in crops])


def classic_enhancer(name: str) -> Callable[[list[np.ndarray]], list[np.ndarray]]:
    """The ``enhance`` of the classic enhancer ``name`` (``blur``, ``pixelate``, ``mask``) at its defaults."""
    from recanon_sdk.enhance import make_enhancer

    enhancer = make_enhancer(name)
    return enhancer.enhance


def keyless_attacker(weights: str) -> Any:
    """The attacker's network, refusing keyed weights (a GY with a secret is not an attacker)."""
    from recanon_sdk.models.recover import GYRecoverer

    try:
        return GYRecoverer(weights, None)
    except ValueError as error:  # a keyed model asks for a secret
        raise ValueError(
            f"attacker weights '{weights}' are keyed; pass an unkeyed network "
            "(research/probes/learned_attacker.py --save)"
        ) from error


def gy_pair(
    gy_weights: str | None,
    sealed_gy: tuple[Any, bytes | None] | None,
    secret: bytes,
    wrong: bytes,
) -> tuple[bytes, tuple[Any, Any] | None]:
    """The secret GX is keyed with and GY under it and under ``wrong`` (``None`` without a GY).

    ``sealed_gy`` (a deployment's GY and secret, opened from its bundle) brings its own secret in place
    of ``secret``; plain ``gy_weights`` are keyed with ``secret``. Giving both is a mistake.
    """
    if sealed_gy is not None:
        if gy_weights:
            raise ValueError("give GY weights or a sealed GY, not both")
        gy, secret_in_bundle = sealed_gy
        if secret_in_bundle is None:
            raise ValueError("the sealed GY carries no deployment secret: it cannot be keyed like GX")
        return secret_in_bundle, (gy, gy.with_secret(wrong))
    if gy_weights:
        from recanon_sdk.models.recover import GYRecoverer

        gy = GYRecoverer(gy_weights, secret)
        return secret, (gy, gy.with_secret(wrong))
    return secret, None


def method_outputs(
    raw: Sequence[np.ndarray],
    methods: Sequence[str],
    *,
    size: tuple[int, int],
    crf: int,
    raw_predictions: Sequence[Any],
    gx: Any | None,
    generator_size: tuple[int, int],
    gy: tuple[Any, Any] | None = None,
    attacker: Any | None = None,
) -> tuple[dict[str, list[np.ndarray]], dict[str, float] | None]:
    """Every method's portraits after libx264 at ``crf``, by row name, and for a head-pinned GX how
    much it pinned (``heads_unknown``: the share of portraits with no head placed, pinned whole;
    ``pinned_share``: the share of pixels pinned), else ``None``.

    ``raw_predictions``: P's people on the raw portraits (where a head-pinned GX gets its heads);
    ``gx``: the GX enhancer (``None``: no ``gx`` row); ``generator_size``: the (H, W) ``resampled``
    goes through; ``gy``: GY under the right and a wrong secret, and ``attacker``: an unkeyed
    inverse, both applied to GX's decoded output.
    """
    from recanon_sdk.models.codec import x264_roundtrip

    outputs: dict[str, list[np.ndarray]] = {}
    head_pin: dict[str, float] | None = None
    for name in methods:
        if name == "raw":
            produced = list(raw)
        elif name == "resampled":
            produced = resampled(raw, generator_size)
        elif name == "gx":
            if gx is None:
                continue
            if getattr(gx, "wants_heads", False):  # where the faces are, as the detector sees them
                from recanon_sdk.crops import head_pin_masks

                heads = [portrait_heads(people) for people in raw_predictions]
                produced = gx.enhance(list(raw), heads=heads)
                masks = head_pin_masks(heads, [r.shape for r in raw], size)
                head_pin = {
                    "heads_unknown": float(np.mean([h is None for h in heads])),
                    "pinned_share": float(masks.mean()),
                }
            else:
                produced = gx.enhance(list(raw))
        else:
            produced = classic_enhancer(name)(list(raw))
        outputs[name] = x264_roundtrip(produced, crf=crf)
    if gy is not None and "gx" in outputs:
        outputs["gy_right"] = gy[0].recover(outputs["gx"])
        outputs["gy_wrong"] = gy[1].recover(outputs["gx"])
    if attacker is not None and "gx" in outputs:
        outputs["attacker"] = attacker.recover(outputs["gx"])
    return outputs, head_pin
