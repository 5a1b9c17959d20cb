"""Make the DEMO deployment kit in this folder: keys everybody has, for trying recovery end to end.

    python examples/demo/make_demo_kit.py path/to/gy.safetensors
    python examples/demo/make_demo_kit.py path/to/gy.safetensors --reseal   # new GY, same keys

Writes DEMO-device.key and DEMO-holder.key (no passphrase: they are public), demo.deployment and
demo.gy.sealed (the GY weights and the demo deployment's model secret, sealed to the DEMO holder).
``--reseal`` keeps the kit's keys and deployment and replaces only demo.gy.sealed.
Never use these keys for real footage: anyone who has recanon can open what they protect.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import recanon_keys as rk
from recanon_keys._atomic import write_atomic
from recanon_sdk.models.sealed import seal_gy
from recanon_sdk.models.weights import load_model

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("gy", type=Path, help="trained gy.safetensors")
    parser.add_argument("--overwrite", action="store_true")
    parser.add_argument("--reseal", action="store_true", help="keep the keys; replace demo.gy.sealed only")
    args = parser.parse_args()
    if args.reseal:
        device = rk.load_device_key((HERE / "DEMO-device.key").read_bytes(), passphrase=None)
        deployment = rk.load_deployment((HERE / "demo.deployment").read_bytes())
    else:
        device = rk.generate_device_key("DEMO device (public key, not for real use)")
        holder = rk.generate_holder("DEMO holder (public key, not for real use)")
        deployment = rk.create_deployment("demo", device_key=device, holders=[holder.public])
        for name, key in (("DEMO-device.key", device), ("DEMO-holder.key", holder)):
            rk.save_private_key(
                HERE / name, key, passphrase=None, unsafe_no_passphrase=True, overwrite=args.overwrite
            )
        write_atomic(HERE / "demo.deployment", deployment.to_bytes(), mode=0o644, overwrite=args.overwrite)
    model, meta = load_model(args.gy)
    bundle = seal_gy(
        model,
        meta["arch"],
        rk.derive_model_secret(device, deployment),
        deployment=deployment,
        input_size=tuple(meta["input_size"]),
        kwargs=meta.get("kwargs") or {},
    )
    write_atomic(HERE / "demo.gy.sealed", bundle, mode=0o644, overwrite=args.overwrite or args.reseal)
    print(f"demo kit written to {HERE}: deployment {deployment.deployment_id}, GY bundle {len(bundle)} bytes")


if __name__ == "__main__":
    main()
