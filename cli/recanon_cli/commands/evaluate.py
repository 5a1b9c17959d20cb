"""``recanon eval``: privacy, pose utility and recovery of every enhancer side by side, after libx264."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from recanon_cli._console import fail, require_torch, stderr, stdout


def eval_command(
    data: Annotated[
        list[str],
        typer.Option(
            "--data",
            help="KIND:PATH[:IMAGES] with KIND coco (any COCO-style keypoint JSON: COCO, CrowdPose, AIC, "
            "MHP, ExLPose…, mapped to COCO-17 by joint name) or mpii (keypoint labels) or folder (person "
            "crops, no labels: P on the raw portrait is the reference); repeatable.",
            show_default=False,
        ),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for report.md, report.json, plot.")] = Path(
        "eval-report"
    ),
    gx: Annotated[
        str | None,
        typer.Option(help="GX weights (.safetensors). Default: the packaged GX. 'none' skips GX."),
    ] = None,
    gy: Annotated[
        Path | None,
        typer.Option(
            help="GY weights (.safetensors, a training output) to measure recovery.", show_default=False
        ),
    ] = None,
    bundle: Annotated[
        Path | None,
        typer.Option(
            help="A deployment's sealed GY bundle (instead of --gy): opened in memory with --key and "
            "--deployment; GX is keyed with the bundle's secret, so the GY rows measure that deployment's "
            "own recovery.",
            show_default=False,
            dir_okay=False,
        ),
    ] = None,
    key: Annotated[
        Path | None,
        typer.Option(
            "--key", "-k", help="Holder key that opens --bundle.", show_default=False, dir_okay=False
        ),
    ] = None,
    deployment: Annotated[
        Path | None,
        typer.Option(
            "--deployment",
            "-d",
            help="The deployment file --bundle is sealed for (default: $RECANON_DEPLOYMENT).",
            envvar="RECANON_DEPLOYMENT",
            show_default=False,
            dir_okay=False,
        ),
    ] = None,
    passphrase_file: Annotated[
        Path | None,
        typer.Option(
            help="File whose first line is the key's passphrase (else $RECANON_PASSPHRASE or a prompt).",
            show_default=False,
        ),
    ] = None,
    attacker: Annotated[
        Path | None,
        typer.Option(
            help="An unkeyed inverse of GX trained without the secret (research/probes/learned_attacker.py "
            "--save) to measure next to GY: the honest bound of docs/security.md.",
            show_default=False,
        ),
    ] = None,
    pose_weights: Annotated[
        str | None,
        typer.Option(
            help="Pose model run on the anonymized and recovered portraits: the packaged yolo11n-pose-gx "
            "(fine-tuned with the packaged GX) or the pose.pt of a run that fine-tuned P. Default: the "
            "packaged YOLO11n-pose (the raw row and teacher always use it).",
            show_default=False,
        ),
    ] = None,
    limit: Annotated[
        int, typer.Option(help="At most this many portraits per source (evenly spaced).", min=1)
    ] = 200,
    crf: Annotated[int, typer.Option(help="libx264 CRF of the codec round trip.", min=0, max=51)] = 23,
    reid: Annotated[
        bool,
        typer.Option(
            "--reid/--no-reid",
            help="Identity linkage with dlib's face embeddings: self vs impostor, rank-1 vs chance, AUC "
            "(needs the 'eval' extra).",
        ),
    ] = True,
    heldout: Annotated[
        float | None,
        typer.Option(
            help="For folder sources used in training with data.holdout = this fraction: only the held-out "
            "portraits (the training split).",
            min=0.0,
            max=0.9,
            show_default=False,
        ),
    ] = None,
    method: Annotated[
        list[str] | None,
        typer.Option(
            "--method",
            help="Measure only these rows (repeatable): raw, resampled, blur, pixelate, mask, gx. "
            "Default: all; GY's rows come with gx when --gy is given.",
            show_default=False,
        ),
    ] = None,
    intervals: Annotated[
        int,
        typer.Option(
            help="Bootstrap resamples for 95 % intervals of OKS AP (0: none; 200 is a good choice, "
            "about 0.1 s per resample, method and 120 portraits).",
            min=0,
        ),
    ] = 0,
    keypoints: Annotated[
        str,
        typer.Option(
            help="Keypoints OKS is scored on: all (the 17 COCO keypoints) or body (the 12 body keypoints, "
            "the face's five unscored: for deployments that read body pose only).",
        ),
    ] = "all",
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace an existing report folder.")
    ] = False,
) -> None:
    """Measure privacy (PSNR/SSIM, YuNet faces, dlib identity linkage), pose utility (OKS AP) and
    recovery for raw, blur, pixelate, mask, GX (and GY with the right and a wrong secret), next to
    "resampled": the raw portrait at GX's input size and back, the most a generator of that size keeps.

    Examples:

      recanon eval --data coco:../shared/data/pose_gt/coco/test_coco.json -o report/

      recanon eval --data coco:person_keypoints_val2017.json:val2017/ --gy run/gy.safetensors --limit 500
    """
    require_torch("recanon eval")
    from recanon_sdk.detect.weights import PACKAGED_WEIGHTS
    from recanon_sdk.enhance import DEFAULT_GX_WEIGHTS
    from recanon_sdk.evaluation import (
        KEYPOINT_SETS,
        EvalConfig,
        check_methods,
        evaluate,
        parse_source,
        write_report,
    )

    try:
        check_methods(method or [])
    except ValueError as error:
        fail(str(error))
    if keypoints not in KEYPOINT_SETS:
        fail(f"--keypoints must be one of {', '.join(KEYPOINT_SETS)}, not '{keypoints}'")

    for source in data:
        try:
            _kind, path, images = parse_source(source)
        except ValueError as error:
            fail(str(error), "for example --data coco:annotations.json or --data folder:crops/")
        if not Path(path).exists():
            fail(f"data source '{source}': '{path}' does not exist")
        if images is not None and not Path(images).is_dir():
            fail(f"data source '{source}': image folder '{images}' does not exist")
    if gy is not None and not gy.is_file():
        fail(f"GY weights '{gy}' do not exist")
    if bundle is not None:
        if gy is not None:
            fail("give --gy (plain weights) or --bundle (a sealed GY), not both")
        if key is None or deployment is None:
            fail("--bundle needs the holder key that opens it and its deployment", "pass --key and -d")
        for path, what in ((bundle, "GY bundle"), (key, "key file"), (deployment, "deployment file")):
            if not path.is_file():
                fail(f"the {what} '{path}' does not exist")
    if attacker is not None and not attacker.is_file():
        fail(
            f"attacker weights '{attacker}' do not exist",
            "write them with research/probes/learned_attacker.py --save",
        )
    if pose_weights is not None and pose_weights not in PACKAGED_WEIGHTS and not Path(pose_weights).is_file():
        fail(f"pose weights '{pose_weights}' do not exist", "pass a .pt file or yolo11n-pose-gx")
    if out.exists() and not overwrite:
        fail(f"'{out}' exists already", "pass --overwrite to replace the report, or choose -o")
    if reid:
        from recanon_sdk.metrics.faces import embedder_available

        if not embedder_available():
            stderr.print(
                "recanon: note: identity linkage skipped (pip install 'recanon[eval]')", markup=False
            )
            reid = False
    sealed_gy = None
    if bundle is not None:
        import recanon_keys as rk
        from recanon_sdk.runtime.sealed_gy import open_sealed_gy_with_secret

        from recanon_cli.commands.keys import _errors, _load_deployment, _load_private

        if key is None or deployment is None:  # refused with a message above
            raise RuntimeError("--bundle got past the check for --key and -d without them")
        with _errors():
            dep = _load_deployment(deployment)
            holder = _load_private(key, passphrase_file, "holder-key", rk.load_holder_key)
            sealed_gy = open_sealed_gy_with_secret(bundle, holder, dep)
    config = EvalConfig(
        sources=list(data),
        limit=limit,
        crf=crf,
        gx_weights=None if gx == "none" else (gx or DEFAULT_GX_WEIGHTS),
        gy_weights=None if gy is None else str(gy),
        attacker_weights=None if attacker is None else str(attacker),
        gy_bundle=None if bundle is None else str(bundle),
        pose_weights=pose_weights,
        reid=reid,
        heldout=heldout,
        intervals=intervals,
        keypoints=keypoints,
        **({"methods": list(dict.fromkeys(method))} if method else {}),
    )
    try:
        report = evaluate(config, log=lambda line: stderr.print(line, markup=False), sealed_gy=sealed_gy)
    except (OSError, ValueError, KeyError) as error:
        fail(f"evaluation failed: {error}")
    for path in write_report(report, out):
        stdout.print(f"wrote {path}", markup=False)
