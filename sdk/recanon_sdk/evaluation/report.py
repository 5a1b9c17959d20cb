"""``recanon eval``'s report: the all-sources summary, ``report.json``, ``report.md`` and the plot.

:func:`summarize` weights every method's OKS AP over the sources by their portraits (with intervals
from the bootstrap draws, and the share of raw's AP paired on the same draws); :func:`write_report`
writes the numbers as JSON, as Markdown tables per source and over all sources, and as
``privacy_utility.png`` (OKS AP against YuNet's face detection rate, one point per method and
source; skipped without matplotlib).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from recanon_sdk.evaluation.metrics import bootstrap_interval
from recanon_sdk.metrics.linkage import Linkage

__all__ = ["format_interval", "summarize", "write_report"]


def summarize(report: dict[str, Any], draws: dict[str, dict[str, np.ndarray]]) -> dict[str, Any]:
    """Every method's OKS AP over all sources, each source weighted by its portraits (and, with
    bootstrap ``draws`` per method and source, its interval from the same draws)."""
    sources = {k: v for k, v in report["sources"].items() if v.get("portraits")}
    methods: dict[str, Any] = {}
    weighted_draws: dict[str, np.ndarray] = {}  # method → its all-sources AP per draw (NaN: skipped)
    names = [m for v in sources.values() for m in v["methods"]]
    for name in dict.fromkeys(names):
        used = {
            k: v for k, v in sources.items() if np.isfinite(v["methods"].get(name, {}).get("oks_ap", np.nan))
        }
        if not used:
            continue
        weights = np.array([v["portraits"] for v in used.values()], float)
        aps = np.array([v["methods"][name]["oks_ap"] for v in used.values()])
        row: dict[str, Any] = {"oks_ap": float(weights @ aps / weights.sum()), "sources": len(used)}
        if name in draws and all(k in draws[name] for k in used):
            per_draw = np.stack([draws[name][k] for k in used])  # (sources, resamples)
            whole = np.isfinite(per_draw).all(axis=0)  # a draw without any labelled person: skipped
            weighted_draws[name] = np.where(whole, weights @ np.nan_to_num(per_draw) / weights.sum(), np.nan)
            row["oks_ap_interval"] = bootstrap_interval(weighted_draws[name])
        methods[name] = row
    raw = weighted_draws.get("raw")
    for name, row in methods.items():  # the share of raw AP, paired: both from the same draws
        if raw is not None and name in weighted_draws and row["sources"] == methods["raw"]["sources"]:
            with np.errstate(divide="ignore", invalid="ignore"):
                row["ap_vs_raw_interval"] = bootstrap_interval(weighted_draws[name] / raw)
    return {"weighted_by": "portraits", "portraits": int(sum(v["portraits"] for v in sources.values())),
            "methods": methods}  # fmt: skip


def write_report(report: dict[str, Any], out_dir: str | Path) -> list[Path]:
    """``report.json``, ``report.md`` and ``privacy_utility.png`` in ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report, indent=1, default=float))
    lines = ["# recanon eval", "", f"Codec: libx264 CRF {report['config']['crf']}; portraits "
             f"{report['config']['size'][0]}×{report['config']['size'][1]}.", ""]  # fmt: skip
    columns = [
        ("psnr", "PSNR dB"),
        ("ssim", "SSIM"),
        ("face_detection_rate", "faces found"),
        ("self [95 %]", "dlib self [95 %]"),
        ("impostor [95 %]", "impostor [95 %]"),
        ("rank-1 (chance, p)", "rank-1 (chance, p)"),
        ("AUC [95 %]", "AUC [95 %]"),
        ("verdict", "identity"),
        ("oks_ap", "OKS AP"),
        ("oks_ap50", "AP50"),
    ]
    for source, result in report["sources"].items():
        if not result.get("portraits"):
            lines += [f"## {source}", "", f"Skipped: {result.get('skipped')}.", ""]
            continue
        lines += [
            f"## {source}",
            "",
            f"{result['portraits']} portraits; pose ground truth: {result['ground_truth']}; "
            f"YuNet finds a face in {result['raw_faces_yunet']} raw portraits.",
            "",
        ]
        if "gx_head_pin" in result:
            pin = result["gx_head_pin"]
            lines += [
                f"GX is head-pinned: {100 * pin['pinned_share']:.1f} % of the portraits pinned; "
                f"{100 * pin['heads_unknown']:.1f} % pinned whole (no head placed).",
                "",
            ]
        lines.append("| method | " + " | ".join(c[1] for c in columns) + " | AP vs raw |")
        lines.append("|---" * (len(columns) + 2) + "|")
        raw_ap = result["methods"].get("raw", {}).get("oks_ap")
        for name, row in result["methods"].items():
            linked = Linkage(**row["linkage"]).cells() if "linkage" in row else {}
            cells = [
                linked.get(key, "-") if key in _LINKAGE else _fmt(row.get(key), key) for key, _ in columns
            ]
            if "oks_ap_interval" in row:
                cells[-2] += f" {format_interval(row['oks_ap_interval'])}"
            rel = "" if not raw_ap else f"{100 * row['oks_ap'] / raw_ap:.0f} %"
            lines.append(f"| {name} | " + " | ".join(cells) + f" | {rel} |")
        if any("linkage" in row for row in result["methods"].values()):
            lines += ["", "Identity (dlib 128-d, given the raw face's location, each portrait its own "
                      "person): self = within 0.6 of its own raw face, impostor = of another portrait's; "
                      "rank-1 = its own raw face is the nearest, against chance (1 / faces; p: as many "
                      "hits or more by guessing); AUC 0.5 = no identity; [95 %]: bootstrap over "
                      "portraits."]  # fmt: skip
        if "resampled" in result["methods"]:
            lines += ["", "resampled: the raw portrait at GX's input size and back, no network (what a "
                      "generator of that size can at best keep)."]  # fmt: skip
        lines.append("")
    summary = report.get("summary", {})
    if summary.get("methods"):
        lines += [
            "## All sources",
            "",
            f"OKS AP of each method over the {summary['portraits']} portraits, each source weighted by "
            "its portraits (labelled sources against their labels, folders against the teacher); "
            "intervals: 95 % bootstrap over portraits, the same draws for every method.",
            "",
            "| method | OKS AP | 95 % interval | AP vs raw | 95 % interval (paired) |",
            "|---|---|---|---|---|",
        ]
        raw_ap = summary["methods"].get("raw", {}).get("oks_ap")
        for name, row in summary["methods"].items():
            interval = format_interval(row.get("oks_ap_interval"))
            rel = f"{100 * row['oks_ap'] / raw_ap:.0f} %" if raw_ap else ""
            paired = format_interval(row.get("ap_vs_raw_interval"), percent=True)
            lines.append(f"| {name} | {row['oks_ap']:.3f} | {interval} | {rel} | {paired} |")
        lines.append("")
    (out / "report.md").write_text("\n".join(lines))
    paths = [out / "report.json", out / "report.md"]
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return paths
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for source, result in report["sources"].items():
        for name, row in result.get("methods", {}).items():
            x = row.get("face_detection_rate")
            if x is None or row.get("oks_ap") is None:
                continue
            ax.scatter([100 * x], [row["oks_ap"]])
            ax.annotate(f"{name} ({Path(source.split(':')[1]).stem})", (100 * x, row["oks_ap"]), fontsize=7)
    ax.set_xlabel("faces YuNet still finds (%)")
    ax.set_ylabel("pose OKS AP")
    ax.set_title("privacy vs utility (after libx264)")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out / "privacy_utility.png", dpi=120)
    plt.close(fig)
    return [*paths, out / "privacy_utility.png"]


#: The report's identity columns, the cells of :meth:`recanon_sdk.metrics.linkage.Linkage.cells`.
_LINKAGE = ("self [95 %]", "impostor [95 %]", "rank-1 (chance, p)", "AUC [95 %]", "verdict")


def format_interval(interval: Sequence[float] | None, percent: bool = False) -> str:
    """``[low, high]`` as report text (``-`` when absent); ``percent``: as whole percentages.

    >>> format_interval([0.2671, 0.4012]), format_interval([0.37, 0.554], percent=True), format_interval(None)
    ('[0.267, 0.401]', '[37 %, 55 %]', '-')
    """
    if interval is None:
        return "-"
    if percent:
        return f"[{100 * interval[0]:.0f} %, {100 * interval[1]:.0f} %]"
    return f"[{interval[0]:.3f}, {interval[1]:.3f}]"


def _fmt(value: Any, key: str) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "-"
    if key == "face_detection_rate":
        return f"{100 * value:.1f} %"
    return f"{value:.2f}" if key == "psnr" else f"{value:.3f}"
