"""Investigate one person: recover their track for a time range and save stills of them (key holders only).

    python examples/recover_person.py cam3.anon.mp4 --key alice.key --deployment site42.deployment \\
        --track 7 --from 70 --to 100 --stills stills/

    python examples/recover_person.py --demo --stills stills/   # anonymize 30 frames of the bundled
                                                                # sample with the DEMO keys, then
                                                                # recover its first track

The recovery is verified and audited exactly like ``recanon recover``: the output's signatures are
checked first, and an entry is appended to the deployment's audit log before anything is decrypted.
Each still is the recovered person's region only (the rest of the frame stays anonymized anyway).
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np
import recanon_keys as rk
from recanon_sdk import Recoverer
from recanon_sdk.errors import RecanonError
from recanon_sdk.video.sidecar import Sidecar, sidecar_path_for

HERE = Path(__file__).resolve().parent


def demo_output(folder: Path) -> Path:
    """Anonymize 30 frames of examples/walking.mp4, signed with the DEMO device, originals sealed."""
    from recanon_sdk import Anonymizer
    from recanon_sdk.signing import RunSigner

    device = rk.load_device_key((HERE / "demo" / "DEMO-device.key").read_bytes(), passphrase=None)
    deployment = rk.load_deployment((HERE / "demo" / "demo.deployment").read_bytes())
    result = Anonymizer().process_video(
        HERE / "walking.mp4",
        folder / "walking.anon.mp4",
        max_frames=30,
        signer=RunSigner(device, deployment),
        seal_originals_to=deployment,
    )
    return result.output


def sidecar_tracks(video: Path) -> set[int]:
    """Track ids in the video's pose sidecar."""
    tracks: set[int] = set()
    for poses in Sidecar(sidecar_path_for(video)).frames():
        tracks.update(int(t) for t in poses.people.track_id if t >= 0)
    return tracks


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("video", nargs="?", type=Path, help="the anonymized video (not with --demo)")
    parser.add_argument("--key", type=Path)
    parser.add_argument("--deployment", type=Path)
    parser.add_argument("--track", type=int, action="append")
    parser.add_argument("--from", dest="start", type=float)
    parser.add_argument("--to", dest="end", type=float)
    parser.add_argument("--stills", type=Path, required=True, help="folder for one PNG per recovered region")
    parser.add_argument("--demo", action="store_true", help="use the bundled sample and the DEMO keys")
    args = parser.parse_args()

    if args.demo and args.video is not None:
        parser.error("give either VIDEO --key --deployment or --demo, not both")
    workdir = Path(tempfile.mkdtemp(prefix="recanon-demo-"))
    if args.demo:
        args.video = demo_output(workdir)
        args.key, args.deployment = HERE / "demo" / "DEMO-holder.key", HERE / "demo" / "demo.deployment"
    if args.video is None or args.key is None or args.deployment is None:
        parser.error("give VIDEO --key --deployment, or --demo")
    passphrase = None
    if rk.read_key_file_info(args.key.read_bytes(), kind="holder-key").protected:
        passphrase = os.environ.get("RECANON_PASSPHRASE") or getpass.getpass(f"passphrase for {args.key}: ")

    try:
        recoverer = Recoverer.open(key=args.key, deployment=args.deployment, passphrase=passphrase)
        if args.demo:
            recoverer.audit_log = workdir / "demo.audit.jsonl"  # keep the DEMO kit's folder clean
        tracks = args.track
        if args.demo and not tracks:  # the demo recovers the first track of the sample
            tracks = [min(sidecar_tracks(args.video))]
        frames = recoverer.recover(  # verifies and writes the audit entry before decrypting
            args.video, tracks=tracks, start=args.start, end=args.end, output_name=f"stills in {args.stills}"
        )
        args.stills.mkdir(parents=True, exist_ok=True)
        saved = 0
        for frame, image, regions in frames:
            for x0, y0, x1, y1 in regions:
                still = cv2.cvtColor(np.ascontiguousarray(image[y0:y1, x0:x1]), cv2.COLOR_RGB2BGR)
                cv2.imwrite(str(args.stills / f"frame{frame.index:06d}_{x0}_{y0}.png"), still)
                saved += 1
    except (RecanonError, rk.RecanonKeysError) as error:
        print(f"error: {error.message}", file=sys.stderr)
        return 1
    who = "everyone" if not tracks else "track " + ", ".join(map(str, tracks))
    print(f"recovered {who}: {saved} stills in {args.stills}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
