"""``recanon verify OUT.mp4``: check an anonymized output, its sidecar and manifest against a deployment."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import recanon_keys as rk
import typer

from recanon_cli._console import fail, stdout


def verify(
    output: Annotated[
        Path,
        typer.Argument(
            help="The anonymized video, e.g. out.mp4. Its out.pose.jsonl, "
            "out.pose.jsonl.sig and out.manifest.json are read from the same "
            "folder.",
            show_default=False,
            dir_okay=False,
        ),
    ],
    deployment: Annotated[
        Path | None,
        typer.Option(
            "--deployment",
            "-d",
            help="The deployment file you trust (default: $RECANON_DEPLOYMENT).",
            envvar="RECANON_DEPLOYMENT",
            show_default=False,
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Verify that an output, its pose sidecar and its run manifest are what the deployment's device signed.

    Names exactly what does not match (the file, and the first altered sidecar line). Exit code 0 when
    everything verifies, 1 otherwise.

    Example: recanon verify out.mp4 --deployment lobby.deployment
    """
    if deployment is None:
        fail(
            "no deployment file given",
            "pass --deployment FILE or set RECANON_DEPLOYMENT",
            "the deployment file is the trust anchor: use a copy from a trusted source",
        )
    try:
        with open(deployment, "rb") as fh:
            dep = rk.load_deployment(fh.read(1024 * 1024 + 1), what=str(deployment))
    except rk.RecanonKeysError as exc:
        fail(exc.message, *([exc.hint] if exc.hint else []))
    except OSError as exc:
        fail(f"cannot read {deployment}: {exc.strerror}")
    report = rk.verify_output(output, deployment=dep)
    stdout.print(
        f"{output}: deployment {dep.name!r} ({dep.deployment_id}), device {dep.device.key_id}", markup=False
    )
    for check in report.checks:
        mark = "ok  " if check.ok else "FAIL"
        stdout.print(f"  {mark} {check.name}: {check.detail}", markup=False)
    if not report.ok:
        failures = report.failures()
        lines = [c.line for c in failures if c.line is not None]
        fail(
            f"{output} does not verify: {', '.join(c.name for c in failures)}",
            *([f"the first altered sidecar line is line {lines[0]}"] if lines else []),
            "do not rely on the failing files; get intact copies from the device's operator",
        )
    m = report.manifest
    if m is not None:
        stdout.print(
            f"  verified: run {m.sidecar.run_id}, {m.started:%Y-%m-%d %H:%M:%S} to "
            f"{m.finished:%H:%M:%S} UTC, {m.tool_name} {m.tool_version}",
            markup=False,
        )
