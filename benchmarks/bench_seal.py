"""Throughput of sealing and opening a bundle, next to a plain SHA-256 pass over the same bytes.

Usage: python benchmarks/bench_seal.py [--mb 50] [--repeat 3] [--holders 2]

Sealing = one SHA-256 pass + ChaCha20-Poly1305 STREAM encryption (+ a second SHA-256 pass that
re-checks the input); opening = decryption + one SHA-256 pass. Best of ``--repeat`` runs, in MB/s
(1 MB = 10^6 bytes), all on the same in-memory bytes.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import recanon_keys as rk


def best_of(repeat: int, fn: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mb", type=int, default=50, help="payload size in MB (default: 50)")
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs per measurement, best is kept (default: 3)"
    )
    parser.add_argument("--holders", type=int, default=2, help="recipients of the bundle (default: 2)")
    args = parser.parse_args()

    size = args.mb * 10**6
    data = os.urandom(size)
    holders = [rk.generate_holder(f"holder-{i}") for i in range(args.holders)]
    device = rk.generate_device_key("bench")
    dep = rk.create_deployment("bench", device_key=device, holders=[h.public for h in holders])
    bundle = rk.seal(data, deployment=dep, model_name="gy", model_version="bench", device_key=device)
    assert rk.open_sealed(bundle, holders[-1], deployment=dep, model_name="gy", model_version="bench") == data

    results = {
        "sha256 (reference)": best_of(args.repeat, lambda: hashlib.sha256(data).digest()),
        "seal (bytes)": best_of(
            args.repeat,
            lambda: rk.seal(data, deployment=dep, model_name="gy", model_version="bench", device_key=device),
        ),
        "open (bytes)": best_of(
            args.repeat,
            lambda: rk.open_sealed(
                bundle, holders[-1], deployment=dep, model_name="gy", model_version="bench"
            ),
        ),
    }
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "plain.bin", Path(tmp) / "plain.bundle"
        src.write_bytes(data)

        def seal_file() -> None:
            rk.seal_file(
                src,
                dst,
                deployment=dep,
                model_name="gy",
                model_version="bench",
                device_key=device,
                overwrite=True,
            )

        results["seal_file (disk to disk)"] = best_of(args.repeat, seal_file)
        results["open_sealed (from disk)"] = best_of(
            args.repeat,
            lambda: rk.open_sealed(dst, holders[0], deployment=dep, model_name="gy", model_version="bench"),
        )

    print(
        f"recanon_keys {rk.__version__}, Python {platform.python_version()}, {platform.machine()}, "
        f"{os.cpu_count()} CPUs; payload {args.mb} MB, {args.holders} holders, best of {args.repeat}"
    )
    reference = size / results["sha256 (reference)"] / 1e6
    for name, seconds in results.items():
        mbps = size / seconds / 1e6
        print(f"  {name:<26} {seconds * 1000:8.1f} ms  {mbps:8.1f} MB/s  ({mbps / reference:4.2f}x sha256)")


if __name__ == "__main__":
    main()
