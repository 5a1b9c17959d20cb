"""Make the DEMO deployment kit in this folder: keys everybody has, for trying recovery end to end.

    python examples/demo/make_demo_kit.py path/to/gy.safetensors
    python examples/demo/make_demo_kit.py path/to/gy.safetensors --reseal   # new GY, same keys
    python examples/demo/make_demo_kit.py --upgrade                          # current formats, same GY

Writes DEMO-device.key and DEMO-holder.key (no passphrase: they are public), demo.deployment and
demo.gy.sealed (the GY weights and the demo deployment's model secret, sealed to the DEMO holder and
signed by the DEMO device key). ``--reseal`` keeps the kit's keys and deployment and replaces only
demo.gy.sealed. ``--upgrade`` keeps the keys, the deployment id (hence the model secret) and the GY
bytes: it writes the deployment as a ``recanon-deployment/v2`` revision that pins the holder's audit
key, and re-wraps demo.gy.sealed into a signed ``recanon-bundle/v2`` (same payload bytes, checked).
Never use these keys for real footage: anyone who has recanon can open what they protect.
"""

from __future__ import annotations

import argparse
import hashlib
import warnings
from pathlib import Path

import recanon_keys as rk
from recanon_keys._atomic import write_atomic

HERE = Path(__file__).resolve().parent


def _keys() -> tuple[rk.DeviceKey, rk.HolderKey, rk.Deployment]:
    device = rk.load_device_key((HERE / "DEMO-device.key").read_bytes(), passphrase=None)
    holder = rk.load_holder_key((HERE / "DEMO-holder.key").read_bytes(), passphrase=None)
    return device, holder, rk.load_deployment((HERE / "demo.deployment").read_bytes())


def upgrade() -> None:
    """The kit in the current formats, with the same keys, deployment id and GY plaintext."""
    device, holder, deployment = _keys()
    old = (HERE / "demo.gy.sealed").read_bytes()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rk.UnsignedBundleWarning)  # the old kit's bundle predates signing
        before = rk.open_sealed(
            old, holder, deployment=deployment, model_name="gy", model_version="1", unsafe_allow_unsigned=True
        )
        if not deployment.pins_audit_keys:
            deployment = deployment.with_audit_keys([holder.public], device_key=device)
        bundle = rk.rewrap(old, holder, deployment=deployment, device_key=device, unsafe_allow_unsigned=True)
    after = rk.open_sealed(bundle, holder, deployment=deployment, model_name="gy", model_version="1")
    if hashlib.sha256(after).digest() != hashlib.sha256(before).digest():
        raise SystemExit("the re-wrapped GY differs from the old one: nothing written")
    write_atomic(HERE / "demo.deployment", deployment.to_bytes(), mode=0o644, overwrite=True)
    write_atomic(HERE / "demo.gy.sealed", bundle, mode=0o644, overwrite=True)
    print(
        f"demo kit upgraded in {HERE}: deployment {deployment.deployment_id} revision {deployment.revision} "
        f"(v{deployment.version}), GY plaintext sha256 {hashlib.sha256(after).hexdigest()} unchanged"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("gy", type=Path, nargs="?", help="trained gy.safetensors")
    parser.add_argument("--overwrite", action="store_true")
    parser.add_argument("--reseal", action="store_true", help="keep the keys; replace demo.gy.sealed only")
    parser.add_argument("--upgrade", action="store_true", help="current formats; same keys and GY")
    args = parser.parse_args()
    if args.upgrade:
        upgrade()
        return
    if args.gy is None:
        parser.error("give the trained gy.safetensors (or --upgrade)")
    from recanon_sdk.models.weights import load_model
    from recanon_sdk.runtime.sealed_gy import seal_gy

    if args.reseal:
        device, _holder, deployment = _keys()
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
        device_key=device,
        input_size=tuple(meta["input_size"]),
        kwargs=meta.get("kwargs") or {},
    )
    write_atomic(HERE / "demo.gy.sealed", bundle, mode=0o644, overwrite=args.overwrite or args.reseal)
    print(f"demo kit written to {HERE}: deployment {deployment.deployment_id}, GY bundle {len(bundle)} bytes")


if __name__ == "__main__":
    main()
