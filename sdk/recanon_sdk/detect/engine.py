"""Which inference engine runs an exported pose model, and in which precision: chosen at run time.

Two engines run the ONNX pose model on the CPU: ONNX Runtime (a base dependency, portable: CPUs, CUDA,
TensorRT) and OpenVINO (the ``openvino`` extra). ``engine="auto"`` takes OpenVINO only where it pays:
it is installed, the model runs on the CPU with no ONNX Runtime provider asked for, and the CPU computes
bfloat16 natively (AVX512-BF16 or AMX), where OpenVINO's bf16 runs the default 960 px pose pass about
2× as fast as ONNX Runtime's f32 on 2 cores (1.7–2.3× over batch sizes and thread counts,
``benchmarks/bench_backends.py``). In f32 OpenVINO is 0.95–1.2× ONNX Runtime, so everywhere else
``auto`` keeps ONNX Runtime. bf16 moves confident keypoints by 0.28 px on average (p99 2.6 px) and
finds the same people; the model itself moves them more (0.36 px, p99 3.0 px, 9 of 301 people found or
lost) when every pixel changes by one grey level (``benchmarks/engine_parity.py``).

``precision="auto"`` is ``bf16`` where the CPU has native bf16, else ``f32``.

>>> choose_precision("auto", native_bf16=True), choose_precision("auto", native_bf16=False)
('bf16', 'f32')
>>> choose_engine("auto", has_openvino=True, native_bf16=True)
'openvino'
>>> choose_engine("auto", has_openvino=True, native_bf16=False)
'onnxruntime'
>>> choose_engine("auto", device="cuda", has_openvino=True, native_bf16=True)
'onnxruntime'
"""

from __future__ import annotations

import functools
import platform
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from recanon_sdk.errors import ModelError
from recanon_sdk.extras import installed

Engine = Literal["auto", "onnxruntime", "openvino"]
Precision = Literal["auto", "f32", "bf16"]
ENGINES: tuple[str, ...] = ("auto", "onnxruntime", "openvino")
PRECISIONS: tuple[str, ...] = ("auto", "f32", "bf16")
#: How to install the OpenVINO engine.
OPENVINO_HINT = "pip install 'recanon[openvino]'"
#: CPU flags (``/proc/cpuinfo``) of native bfloat16 arithmetic: x86 AVX512-BF16 or AMX, Arm BF16.
BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16", "bf16"})


@functools.cache
def cpu_flags(cpuinfo: str | Path = "/proc/cpuinfo") -> frozenset[str] | None:
    """The CPU's feature flags (x86 ``flags``, Arm ``Features``) from ``cpuinfo``; ``None`` if unreadable.

    >>> cpu_flags("/no/such/file") is None
    True
    """
    try:
        text = Path(cpuinfo).read_text(errors="replace")[: 1 << 20]
    except OSError:
        return None
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return frozenset(value.split())
    return None


def has_native_bf16(capabilities: Iterable[str], flags: Iterable[str] | None) -> bool:
    """Whether bf16 is native: OpenVINO lists ``BF16`` and the CPU flags (where known) confirm it.

    >>> has_native_bf16(["FP32", "BF16", "INT8"], {"avx2", "avx512f", "avx512_bf16"})
    True
    >>> has_native_bf16(["FP32", "BF16", "INT8"], {"avx2", "avx512f"})      # emulated bf16 is slow
    False
    >>> has_native_bf16(["FP32", "INT8"], {"avx2"}), has_native_bf16(["BF16"], None)
    (False, True)
    """
    if "BF16" not in set(capabilities):
        return False
    return flags is None or bool(BF16_FLAGS & set(flags))


@functools.cache
def openvino_native_bf16() -> bool:
    """Whether this machine's CPU computes bf16 natively (asks ``/proc/cpuinfo`` and OpenVINO, once).

    A CPU whose flags show no bf16 is answered without importing OpenVINO (about 27 MB and 0.3 s).
    """
    flags = cpu_flags()
    if flags is not None and not BF16_FLAGS & flags:
        return False
    import openvino as ov

    capabilities = ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    return has_native_bf16(capabilities, cpu_flags())


def openvino_installed() -> bool:
    """Whether the ``openvino`` package can be imported (without importing it)."""
    return installed("openvino")


def choose_precision(precision: str, *, native_bf16: bool) -> Literal["f32", "bf16"]:
    """The precision OpenVINO computes in: ``auto`` is bf16 where native, else f32.

    >>> choose_precision("f32", native_bf16=True)
    'f32'
    """
    if precision not in PRECISIONS:
        raise ModelError(f"unknown precision '{precision}'", hint="use auto, f32 or bf16")
    if precision == "bf16" and not native_bf16:
        raise ModelError(
            f"this CPU ({platform.machine()}) has no native bfloat16 arithmetic (AVX512-BF16 or AMX)",
            hint="use precision f32 or auto",
        )
    if precision == "auto":
        return "bf16" if native_bf16 else "f32"
    return precision  # type: ignore[return-value]


def choose_engine(
    engine: str,
    *,
    device: str = "cpu",
    providers: object | None = None,
    has_openvino: bool | None = None,
    native_bf16: bool | None = None,
) -> Literal["onnxruntime", "openvino"]:
    """The engine that runs an exported pose model; ``auto`` picks as the module docstring says.

    ``has_openvino`` and ``native_bf16`` are looked up when ``None`` (OpenVINO is imported only
    when it is installed and may be chosen). Raises :class:`~recanon_sdk.errors.ModelError` for an
    engine that is unknown, not installed or cannot run on ``device``.
    """
    if engine not in ENGINES:
        raise ModelError(f"unknown inference engine '{engine}'", hint="use auto, onnxruntime or openvino")
    on_cpu = device.strip().lower() in ("", "cpu")
    if engine == "onnxruntime":
        return "onnxruntime"
    if has_openvino is None:
        has_openvino = openvino_installed()
    if engine == "openvino":
        if not has_openvino:
            raise ModelError(
                "the openvino engine needs the Python package openvino, which is not installed",
                hint=f"{OPENVINO_HINT}, or use engine onnxruntime",
            )
        if not (on_cpu and _cpu_only(providers)):
            raise ModelError(
                f"the openvino engine runs on the CPU only, not device '{device}' / providers {providers}",
                hint="use engine onnxruntime for CUDA or TensorRT",
            )
        return "openvino"
    if not on_cpu or providers is not None or not has_openvino:
        return "onnxruntime"  # ONNX Runtime providers asked for by name are ONNX Runtime's
    if native_bf16 is None:
        native_bf16 = openvino_native_bf16()
    return "openvino" if native_bf16 else "onnxruntime"


def _cpu_only(providers: object | None) -> bool:
    """Whether ONNX Runtime ``providers`` (as given to it) name the CPU alone.

    >>> _cpu_only(None), _cpu_only("cpu"), _cpu_only(["CPUExecutionProvider"]), _cpu_only(["cuda", "cpu"])
    (True, True, True, False)
    """
    if providers is None:
        return True
    specs = [providers] if isinstance(providers, str | tuple) else list(providers)  # type: ignore[call-overload]
    names = [str(spec[0] if isinstance(spec, tuple) else spec).lower() for spec in specs]
    return all(name in ("cpu", "cpuexecutionprovider") for name in names)
