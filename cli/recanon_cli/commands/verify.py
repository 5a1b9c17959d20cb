"""``recanon verify OUT.mp4``: check an anonymized output, its sidecar and manifest against a deployment."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from recanon_cli._console import fail, stdout
from recanon_cli._lazy import lazy_module
from recanon_cli._untrusted import fail_clean, say

rk = lazy_module("recanon_keys")  # loaded on first use: a command that signs nothing skips it


def verify(
    output: Annotated[
        Path | None,
        typer.Argument(
            help="The anonymized video, e.g. out.mp4. Its out.pose.jsonl, "
            "out.pose.jsonl.sig and out.manifest.json are read from the same "
            "folder.",
            show_default=False,
            dir_okay=False,
        ),
    ] = None,
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
    audit_log: Annotated[
        Path | None,
        typer.Option(
            help="Verify this recovery audit log (signatures, chain, holders), with or without an output.",
            show_default=False,
            dir_okay=False,
        ),
    ] = None,
    expect_head: Annotated[
        str | None,
        typer.Option(
            help="With --audit-log: the head (SHA-256) printed by an earlier verification and kept "
            "elsewhere; fails if the log no longer contains it, i.e. entries were cut from its end "
            "(default: none, a cut tail goes unnoticed).",
            show_default=False,
        ),
    ] = None,
    allow_rename: Annotated[
        bool,
        typer.Option(
            "--allow-rename",
            help="Accept an output whose file name differs from the name the device signed (default: "
            "such an output fails: it may be another run's files copied over this one).",
        ),
    ] = False,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print the result as one JSON record (one line) on stdout instead of text: ok, every "
            "check, what was signed, the audit log's entries and head. Errors stay on stderr; the exit "
            "code is the same. Default: off.",
        ),
    ] = False,
) -> None:
    """Verify that an output, its pose sidecar and its run manifest are what the deployment's device signed.

    Names exactly what does not match (the file, and the first altered sidecar line), and prints what
    was signed: input and output names, run id, start and end, frame count. The video must carry the
    name the device signed (see --allow-rename). Sealed originals (X.originals.sealed) that the signed
    sidecar names are checked against their signed size and SHA-256 when present; when absent, that is
    printed (ABSENT) but is no failure: the output itself is intact, only exact recovery is impossible
    (recanon recover --exact refuses). Exit code 0 when everything verifies, 1 otherwise.

    Examples:

      recanon verify out.mp4 --deployment lobby.deployment

      recanon verify --audit-log lobby.audit.jsonl --deployment lobby.deployment --expect-head HEAD

      recanon verify out.mp4 -d lobby.deployment --json | jq .ok
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
    if output is None and audit_log is None:
        fail("nothing to verify", "pass an anonymized video, --audit-log FILE, or both")
    if expect_head is not None and audit_log is None:
        fail("--expect-head needs --audit-log", "pass the audit log whose head you kept")
    record: dict[str, Any] = {"deployment": {"name": dep.name, "id": dep.deployment_id}}
    failures: list[tuple[str, ...]] = []
    if audit_log is not None:
        record["audit_log"], failure = _verify_audit_log(audit_log, dep, expect_head, quiet=as_json)
        failures += [failure] if failure else []
    if output is not None:
        record["output"], failure = _verify_output(output, dep, allow_rename=allow_rename, quiet=as_json)
        failures += [failure] if failure else []
    if as_json:
        record["ok"] = not failures
        sys.stdout.write(json.dumps(record) + "\n")  # ASCII: names from files cannot drive a terminal
        sys.stdout.flush()
    if failures:
        fail_clean(*failures[0])


Failure = tuple[str, ...] | None


def _verify_output(
    output: Path, dep: rk.Deployment, *, allow_rename: bool, quiet: bool
) -> tuple[dict[str, Any], Failure]:
    """Verify ``output``: its JSON record, and the error and hints to end with (``None``: it verifies).
    Prints the checks unless ``quiet``."""
    from recanon_sdk.errors import RecanonError
    from recanon_sdk.verification import verify_run

    try:
        result = verify_run(output, deployment=dep, allow_rename=allow_rename)
    except RecanonError as error:
        fail_clean(error.message, error.hint)
    result.pins.close()
    report = result.report
    signed = result.signed
    data: dict[str, Any] = {
        "path": str(output),
        "ok": report.ok,
        "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail, "line": c.line} for c in report.checks],
        "originals": result.originals,
        "originals_detail": result.originals_detail,
        "signed": None
        if signed is None
        else {
            "run_id": signed.run_id,
            "input": signed.input_name,
            "output": signed.output_name,
            "sidecar": signed.sidecar_name,
            "started": signed.started.isoformat(),
            "finished": signed.finished.isoformat(),
            "tool": signed.tool,
            "frames": signed.frames,
        },
    }
    if not quiet:
        say(stdout, f"{output}: deployment {dep.name!r} ({dep.deployment_id}), device {dep.device.key_id}")
        for check in report.checks:
            say(stdout, f"  {'ok  ' if check.ok else 'FAIL'} {check.name}: {check.detail}")
        if result.originals == "absent":
            say(stdout, f"  ABSENT originals: {result.originals_detail}")
        elif result.originals == "none":
            say(stdout, f"  none originals: {result.originals_detail}")
        if signed is not None:
            say(stdout, f"  signed: {signed.describe()}")
    if not report.ok:
        failures = report.failures()
        lines = [c.line for c in failures if c.line is not None]
        renamed = any(c.name == "video" and "signed as" in c.detail for c in failures)
        return data, (
            f"{output} does not verify: {', '.join(c.name for c in failures)}",
            *([f"the first altered sidecar line is line {lines[0]}"] if lines else []),
            *(["if you renamed the output yourself, pass --allow-rename"] if renamed else []),
            "do not rely on the failing files; get intact copies from the device's operator",
        )
    m = report.manifest
    if m is not None and not quiet:
        say(
            stdout,
            f"  verified: run {m.sidecar.run_id}, {m.started:%Y-%m-%d %H:%M:%S} to "
            f"{m.finished:%H:%M:%S} UTC, {m.tool_name} {m.tool_version}",
        )
    return data, None


def _verify_audit_log(
    path: Path, dep: rk.Deployment, expect_head: str | None, *, quiet: bool
) -> tuple[dict[str, Any], Failure]:
    """Verify the audit log at ``path``: its JSON record, and the error and hints to end with
    (``None``: it verifies). Prints the entries unless ``quiet``."""
    if not path.is_file():
        fail(f"the audit log '{path}' does not exist")
    head = None if expect_head is None else expect_head.strip().lower()
    try:
        report = rk.verify_audit_log(path, deployment=dep, expect_head=head)
    except ValueError as error:
        fail(f"--expect-head {expect_head}: {error}")
    data: dict[str, Any] = {
        "path": str(path),
        "ok": report.ok,
        "entries": report.entries,
        "head": report.head,
        "head_line": report.head_line,
        "pinned": report.pinned,
        "problems": list(report.problems),
        "first_bad_line": report.first_bad_line,
    }
    if not quiet:
        _print_audit_log(path, dep, report)
    if not report.ok:
        return data, (
            f"{path} does not verify: {report.problems[0]}",
            *([f"the first bad entry is line {report.first_bad_line}"] if report.first_bad_line else []),
            "entries before it are intact; restore the log from a copy",
        )
    if not quiet:
        if report.head_line is not None:
            stdout.print(
                f"  the head you kept is line {report.head_line}; {report.entries - report.head_line} "
                "entries were appended since",
                markup=False,
            )
        stdout.print(
            f"  ok: {report.entries} entries, chain intact; head {report.head or '-'}"
            + ("" if head else " (keep it elsewhere and pass it as --expect-head to detect a cut tail)"),
            markup=False,
        )
    return data, None


def _print_audit_log(path: Path, dep: rk.Deployment, report: Any) -> None:
    stdout.print(f"{path}: audit log of deployment {dep.name!r} ({dep.deployment_id})", markup=False)
    for entry in report.log[-20:]:
        event = entry.event
        holder = dep.holder(entry.holder)
        who = f"{holder.label} ({entry.holder})" if holder else entry.holder
        what = ", ".join(
            f"{k} {event[k]}"
            for k in ("mode", "tracks", "from_ms", "to_ms", "verified")
            if event.get(k) is not None
        )
        name = (event.get("input") or {}).get("name", "?")
        stdout.print(
            f"  {entry.seq:4d} {entry.time:%Y-%m-%d %H:%M:%S} {who} {event.get('action')} {name}: {what}",
            markup=False,
        )
    if report.pinned:
        stdout.print(
            "  signers: every entry checked against the audit keys the deployment lists", markup=False
        )
    else:
        stdout.print(
            "  signers NOT pinned: this v1 deployment file lists no audit keys, so a log re-signed with "
            "other keys would verify; compare these with copies taken when each holder was enrolled "
            "(`recanon keys upgrade` pins them):",
            markup=False,
        )
        for key_id, signer in report.holders.items():
            stdout.print(f"  audit key of {key_id}: {signer.hex()}", markup=False)
