"""The options of ``recanon anonymize``, declared once: their types, defaults and help texts."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer


class Backend(StrEnum):
    auto = "auto"
    torch = "torch"
    onnx = "onnx"


class Engine(StrEnum):
    auto = "auto"
    onnxruntime = "onnxruntime"
    openvino = "openvino"


class EnhancerName(StrEnum):
    blur = "blur"
    pixelate = "pixelate"
    mask = "mask"
    ellipse = "ellipse"
    skeleton = "skeleton"
    picture = "picture"
    gx = "gx"


#: Help panels of the signing and batch options (the others: extra_options).
SIGNING = "Signing and sealing"
BATCH = "Batch"


SOURCES_HELP = (
    "Video file, image, folder, glob or rtsp:// URL; several to anonymize them all. "
    "A folder with a video anywhere below it (or with images only in subfolders) is a batch: every "
    "video and image below it, recursively, the tree mirrored under -o. A folder with images at its "
    "top level and no video below it is one set of stills, as before: a folder of anonymized images "
    "out (subfolders ignored)."
)

Sources = Annotated[list[str], typer.Argument(help=SOURCES_HELP, show_default=False, metavar="SOURCE")]
Output = Annotated[
    Path | None,
    typer.Option(
        "-o",
        "--output",
        help="Output video. Default: <input>.anon.mp4 next to the input. For a batch: the output folder "
        "(created; default: FOLDER.anon beside a folder, NAME.anon.EXT beside each file).",
        show_default=False,
    ),
]
Sidecar = Annotated[
    Path | None, typer.Option(help="Pose sidecar path. Default: <output>.pose.jsonl.", show_default=False)
]
Enhancer = Annotated[
    EnhancerName | None,
    typer.Option(
        help="How people are hidden: blur; pixelate; mask (a flat fill, --color); ellipse (a grey "
        "ellipse, its corners blurred); skeleton (a flat fill with the person's skeleton drawn on it: "
        "shows posture and gait); picture (--replace-with IMAGE over each person); gx (the learned, "
        "recoverable GX, keyed per deployment: needs --deployment and --device-key). Default: blur "
        "(picture with --replace-with).",
        show_default=False,
        rich_help_panel="Look",
    ),
]
GxWeights = Annotated[
    str | None,
    typer.Option(
        help="GX weights for --enhancer gx: .safetensors (default: the packaged GX; needs --deployment "
        "and --device-key) or a .onnx exported for this deployment by 'recanon export --model gx'.",
        show_default=False,
    ),
]
Strength = Annotated[
    float | None,
    typer.Option(
        help="Enhancer strength as a fraction of each person's size "
        "(blur sigma, pixel cell, the blur of the ellipse's corners). Default: 0.1 for all; "
        "raise it for more privacy.",
        min=0.001,
        max=1.0,
        show_default=False,
        rich_help_panel="Look",
    ),
]
PoseModel = Annotated[
    str,
    typer.Option(
        help="Pose weights: 'yolo11n-pose' (bundled, offline) or a path to YOLOv8/YOLO11 pose weights."
    ),
]
Imgsz = Annotated[
    int | None,
    typer.Option(
        help="Detector input size in pixels (multiple of 32). Larger finds smaller people, slower. "
        "Default: 960 for video (1280 when the video is at most 640 px wide and high), 1280 for images.",
        min=32,
        show_default=False,
    ),
]
Conf = Annotated[
    float | None,
    typer.Option(
        help="Detection confidence threshold. Lower hides more (false positives only blur background). "
        "Default: 0.2 (0.1 for sources at most 640 px wide and high).",
        min=0.01,
        max=0.99,
        show_default=False,
    ),
]
Tiles = Annotated[
    str | None,
    typer.Option(
        help="Also run the detector on ROWSxCOLS overlapping tiles, for small people and crowds, "
        "e.g. 2x2. Default: 1x1 for video, 2x2 for images.",
        show_default=False,
    ),
]
Margin = Annotated[
    float, typer.Option(help="Region margin around each person, fraction of the box.", min=0.0, max=2.0)
]
Hold = Annotated[int, typer.Option(help="Frames a lost person's region stays anonymized.", min=0)]
Codec = Annotated[str, typer.Option(help="Video encoder: libx264, libx265 or libsvtav1.")]
Crf = Annotated[int, typer.Option(help="Encoder quality (lower = better, bigger).", min=0, max=63)]
Preset = Annotated[str, typer.Option(help="x264/x265 speed preset.")]
EncoderThreads = Annotated[
    int,
    typer.Option(
        "--encoder-threads",
        help="x264's threads. 1: the same input always gives the same bytes, as fast where the pose model "
        "is the bottleneck (a few cores); 0: x264's own count (faster encoding on many cores; the output "
        "may then differ by a few grey levels from run to run).",
        min=0,
    ),
]
KeepAudio = Annotated[
    bool,
    typer.Option("--keep-audio", help="Copy the input's audio. Off by default: voices identify people."),
]
MaxFrames = Annotated[
    int | None,
    typer.Option(
        help="Stop after this many frames (for streams; per file in a batch).", min=1, show_default=False
    ),
]
Device = Annotated[
    str,
    typer.Option(
        help="Device of the pose detector: cpu, cuda or cuda:N. On ONNX Runtime a GPU needs "
        "onnxruntime-gpu (pip install 'recanon[gpu]'); a run that cannot use the GPU is refused."
    ),
]
BackendOpt = Annotated[
    Backend,
    typer.Option(
        "--backend",
        help="Pose backend: auto (an .onnx --pose-model on onnx, a .pt on torch; the packaged default "
        "model as its packaged ONNX form on the CPU, on torch on a CUDA device where the torch extra is "
        "installed), torch or onnx.",
    ),
]
Provider = Annotated[
    str | None,
    typer.Option(
        help="ONNX Runtime execution providers, comma-separated (cpu, cuda, tensorrt, or auto). "
        "Default: follows --device.",
        show_default=False,
    ),
]
EngineOpt = Annotated[
    Engine,
    typer.Option(
        "--engine",
        help="Inference engine of the onnx backend: auto (OpenVINO in bf16 where the CPU computes bf16 "
        "natively, else ONNX Runtime), onnxruntime or openvino. OpenVINO comes with the install on "
        "x86-64 Linux and Windows; elsewhere: pip install 'recanon[openvino]'.",
    ),
]
Deployment = Annotated[
    Path | None,
    typer.Option(
        help="Deployment file: sign the sidecar and a run manifest "
        "with the device key (checked by 'recanon verify').",
        show_default=False,
        rich_help_panel=SIGNING,
    ),
]
DeviceKey = Annotated[
    Path | None,
    typer.Option(
        help="The deployment's device signing key (with "
        "--deployment). Passphrase from --passphrase-file, "
        "$RECANON_PASSPHRASE or a prompt.",
        show_default=False,
        rich_help_panel=SIGNING,
    ),
]
PassphraseFile = Annotated[
    Path | None,
    typer.Option(
        help="File whose first line is the device key's passphrase.",
        show_default=False,
        rich_help_panel=SIGNING,
    ),
]
SealOriginals = Annotated[
    bool,
    typer.Option(
        "--seal-originals",
        help="Also write <output>.originals.sealed: the original pixels of every anonymized region, "
        "encrypted to the holders of --deployment (the device cannot open it), for 'recanon recover "
        "--exact'. Default: off.",
        rich_help_panel=SIGNING,
    ),
]
OriginalsQuality = Annotated[
    str,
    typer.Option(
        help="Compression of the sealed originals: an x264 CRF (default 23, about 43 dB inside the "
        "regions) or 'lossless' (bit-exact, about 20 times larger).",
        rich_help_panel=SIGNING,
    ),
]
Overwrite = Annotated[bool, typer.Option("--overwrite", help="Replace existing outputs. Default: off.")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or summary. Default: off.")]
Jobs = Annotated[
    int | None,
    typer.Option(
        "--jobs",
        "-j",
        help="Batch: files anonymized at once on this machine, each in its own process with "
        "cores/JOBS ONNX Runtime threads. Default: one per core, at most one per GiB of free memory "
        "(on 2 cores, 2 pipelines were 1.2x faster than 1). With --ray local: the CPUs of the local Ray.",
        min=1,
        show_default=False,
        rich_help_panel=BATCH,
    ),
]
Resume = Annotated[
    bool,
    typer.Option(
        "--resume",
        help="Batch: skip inputs whose outputs are complete (sidecar end record; signature verified when "
        "signing) and redo the rest. An output that is there but incomplete is reported unless "
        "--overwrite is given too. Default: off.",
        rich_help_panel=BATCH,
    ),
]
Ray = Annotated[
    str | None,
    typer.Option(
        "--ray",
        help="Batch on Ray, one task per file: auto (the cluster of 'ray start', else a local Ray), "
        "local, or a cluster ADDRESS. Inputs and -o must be at the same path on every node. "
        "Needs pip install 'recanon[ray]'.",
        show_default=False,
        rich_help_panel=BATCH,
    ),
]
MaxRetries = Annotated[
    int,
    typer.Option(
        help="With --ray: times a file is redone from scratch when its worker dies.",
        min=0,
        rich_help_panel=BATCH,
    ),
]
Json = Annotated[
    bool,
    typer.Option(
        "--json",
        help="One JSON record per input on stdout as it finishes, one line each (status, frames, "
        "persons, tracks, obscured frames, seconds, outputs, error); for one file, one record. Human "
        "text stays on stderr. Default: off.",
    ),
]


@dataclass(frozen=True, slots=True)
class AnonymizeOptions:
    """Every option of one ``recanon anonymize`` call (the sources aside)."""

    output: Path | None
    sidecar: Path | None
    enhancer: EnhancerName | None
    gx_weights: str | None
    strength: float | None
    pose_model: str
    imgsz: int | None
    conf: float | None
    tiles: str | None
    margin: float
    hold: int
    codec: str
    crf: int
    preset: str
    keep_audio: bool
    max_frames: int | None
    device: str
    backend: Backend
    provider: str | None
    engine: Engine
    deployment: Path | None
    device_key: Path | None
    passphrase_file: Path | None
    seal_originals: bool
    originals_quality: str
    overwrite: bool
    quiet: bool
    jobs: int | None = None
    resume: bool = False
    ray: str | None = None
    max_retries: int = 2
    json: bool = False
    # the look (extra_options)
    blur_px: float | None = None
    cell_px: int | None = None
    color: str | None = None
    replace_with: Path | None = None
    draw_pose: bool = False
    preview: bool = False
    # who is hidden, and when
    region: str = "body"
    zones: Path | None = None
    exclude_zones: Path | None = None
    keep_tracks: tuple[int, ...] = ()
    max_region: float | None = None
    start: str | None = None
    end: str | None = None
    # speed
    detect_every: int = 3
    crowd_people: int = 6
    crop_pose: int = 8
    crop_pose_still: float = 2.0
    still_detect_every: int = 12
    # the encoder
    encoder_threads: int = 1

    @property
    def enhancer_name(self) -> str:
        """The enhancer by name: as given, else ``picture`` with --replace-with, else ``blur``."""
        if self.enhancer is not None:
            return self.enhancer.value
        return "picture" if self.replace_with is not None else "blur"

    @property
    def on_cpu(self) -> bool:
        """Whether ``--device`` names the CPU (the default)."""
        return self.device.strip().lower() in ("", "cpu")

    @property
    def providers(self) -> list[str] | None:
        if self.provider is None:
            return None
        return [p.strip() for p in self.provider.split(",") if p.strip()]

    @property
    def wants_batch(self) -> bool:
        """Whether an option only a batch has was given (``--json`` is one file's too)."""
        return self.jobs is not None or self.resume or self.ray is not None

    def single_only(self) -> list[str]:
        """The options given that one source has and a batch does not."""
        given = {
            "--blur-px": self.blur_px is not None,
            "--cell-px": self.cell_px is not None,
            "--color": self.color is not None,
            "--replace-with": self.replace_with is not None,
            "--enhancer picture": self.enhancer_name == "picture",
            "--preview": self.preview,
            "--from": self.start is not None,
            "--to": self.end is not None,
        }
        return [name for name, on in given.items() if on]
