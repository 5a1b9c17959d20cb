"""Enhancers: how a person crop becomes a privacy-enhanced rendering.

>>> make_enhancer("pixelate").name
'pixelate'
"""

from __future__ import annotations

from recanon_sdk.enhance.base import Enhancer
from recanon_sdk.enhance.classic import Blur, Mask, Pixelate
from recanon_sdk.enhance.skeleton import Skeleton
from recanon_sdk.enhance.styles import Ellipse, Replace

#: Names accepted by :func:`make_enhancer` and ``recanon anonymize --enhancer``.
CLASSIC_ENHANCERS = ("blur", "pixelate", "mask")
#: More looks :func:`make_enhancer` builds by name: a grey ellipse with blurred corners, and a plain
#: fill with the person's skeleton (``Replace``, a picture of your own, is built from the picture).
STYLE_ENHANCERS = ("ellipse", "skeleton")
#: The learned enhancer (keyed GX) and its packaged default weights.
LEARNED_ENHANCER = "gx"
DEFAULT_GX_WEIGHTS = "gx-unet-s-keyed"
#: The same GX as ONNX with the key as inputs: what ``gx`` runs where torch is not installed.
DEFAULT_GX_WEIGHTS_ONNX = "gx-unet-s-keyed-onnx"


def make_enhancer(
    name: str,
    strength: float | None = None,
    *,
    model_secret: bytes | None = None,
    gx_weights: str | None = None,
    device: str = "cpu",
) -> Enhancer:
    """Build an enhancer by name; ``strength`` overrides its default (blur, pixelate, and the blur of
    the ellipse's corners).

    ``"gx"`` is the learned GX, keyed per deployment: it needs the deployment's 32-byte
    ``model_secret`` (``recanon_keys.derive_model_secret``) and uses the packaged weights unless
    ``gx_weights`` names others: on the CPU their packaged ONNX form on ONNX Runtime (same output
    within one grey level as torch, and faster), on a CUDA device torch where it is installed. An
    ``.onnx`` ``gx_weights`` runs on ONNX Runtime (exported per deployment with the key inside, or
    with key inputs fed from ``model_secret``).
    """
    if name == LEARNED_ENHANCER:
        from recanon_sdk.detect.weights import resolve_weights
        from recanon_sdk.errors import ModelError
        from recanon_sdk.extras import TORCH_HINT, installed

        is_onnx = gx_weights is not None and str(gx_weights).endswith(".onnx")
        if model_secret is None and not is_onnx:
            raise ValueError(
                "the gx enhancer is keyed per deployment: it needs the deployment's model secret"
            )
        packaged_onnx = device == "cpu" or not installed("torch")
        if gx_weights is None and packaged_onnx:  # the packaged ONNX form (sha256 checked)
            gx_weights, is_onnx = str(resolve_weights(DEFAULT_GX_WEIGHTS_ONNX, kind="GX").path), True
        if is_onnx:
            from recanon_sdk.runtime.onnx_generator import OnnxGenerator

            # Exported for one deployment (key inside), or with key inputs (then the secret is fed).
            return OnnxGenerator(gx_weights, model_secret=model_secret)  # type: ignore[arg-type]
        if not installed("torch"):
            raise ModelError(
                "the gx enhancer with .safetensors weights needs torch, which is not installed",
                hint=f"{TORCH_HINT}, or pass a GX exported as ONNX (recanon export --model gx) "
                "with --gx-weights FILE.onnx",
            )
        from recanon_sdk.enhance.learned import LearnedEnhancer

        weights = resolve_weights(gx_weights or DEFAULT_GX_WEIGHTS, kind="GX")
        enhancer = LearnedEnhancer(weights.path, model_secret, device=device)
        enhancer.weights_sha256 = weights.sha256
        return enhancer
    if name == "blur":
        return Blur() if strength is None else Blur(strength=strength)
    if name == "pixelate":
        return Pixelate() if strength is None else Pixelate(strength=strength)
    if name == "mask":
        return Mask()
    if name == "ellipse":
        return Ellipse() if strength is None else Ellipse(outside=Blur(strength=strength))
    if name == "skeleton":
        return Skeleton()
    choices = ", ".join((*CLASSIC_ENHANCERS, *STYLE_ENHANCERS, LEARNED_ENHANCER))
    raise ValueError(f"unknown enhancer {name!r}; choose one of {choices}")


__all__ = [
    "CLASSIC_ENHANCERS",
    "DEFAULT_GX_WEIGHTS",
    "DEFAULT_GX_WEIGHTS_ONNX",
    "LEARNED_ENHANCER",
    "STYLE_ENHANCERS",
    "Blur",
    "Ellipse",
    "Enhancer",
    "Mask",
    "Pixelate",
    "Replace",
    "Skeleton",
    "make_enhancer",
]
