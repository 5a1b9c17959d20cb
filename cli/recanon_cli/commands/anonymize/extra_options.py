"""The options of ``recanon anonymize`` for the look, who is hidden, the time span, speed and scripting.

Each help text states the default and, where an option shows more than the default, what that costs
in privacy. Options that show more are recorded in the sidecar header (``anonymization.policy``).
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

LOOK = "Look"
WHO = "Who is hidden"
SPEED = "Speed"


class Region(StrEnum):
    body = "body"
    head = "head"


BlurPx = Annotated[
    float | None,
    typer.Option(
        "--blur-px",
        help="Blur with a fixed Gaussian sigma of this many pixels for every person, instead of "
        "--strength's fraction of each person's size. Default: off (relative). Costs privacy on people "
        "larger than the size you chose it for: a sigma that hides a 60 px pedestrian leaves a "
        "600 px face recognizable.",
        min=0.1,
        show_default=False,
        rich_help_panel=LOOK,
    ),
]
CellPx = Annotated[
    int | None,
    typer.Option(
        "--cell-px",
        help="Pixelate with square cells of this many pixels for every person, instead of "
        "--strength's fraction of each person's size. Default: off (relative). Costs privacy on people "
        "larger than the size you chose it for, as --blur-px does.",
        min=1,
        show_default=False,
        rich_help_panel=LOOK,
    ),
]
Color = Annotated[
    str | None,
    typer.Option(
        "--color",
        help="R,G,B fill of --enhancer mask, ellipse (inside) and skeleton, e.g. 0,0,0 for black. "
        "Default: 128,128,128 for mask and ellipse; skeleton: the background's colours.",
        show_default=False,
        metavar="R,G,B",
        rich_help_panel=LOOK,
    ),
]
ReplaceWith = Annotated[
    Path | None,
    typer.Option(
        "--replace-with",
        help="A picture (PNG, JPEG; at most 64 MiB) stretched over every person: --enhancer picture, "
        "which this implies. Default: none.",
        show_default=False,
        metavar="IMAGE",
        dir_okay=False,
        rich_help_panel=LOOK,
    ),
]
DrawPose = Annotated[
    bool,
    typer.Option(
        "--draw-pose",
        help="Draw every person's skeleton and track id onto the output video (recorded in the "
        "sidecar header). Default: off. The skeletons show posture and gait on the video itself "
        "(the sidecar holds them anyway).",
        rich_help_panel=LOOK,
    ),
]
Preview = Annotated[
    bool,
    typer.Option(
        "--preview",
        help="Show each anonymized frame in a window as it is made, with skeletons and track ids "
        "drawn on it (the output is drawn on only with --draw-pose). q or Esc closes the window; the "
        "run goes on. Needs a display and OpenCV with GUI support (opencv-python, not "
        "opencv-python-headless). Default: off.",
        rich_help_panel=LOOK,
    ),
]
RegionOpt = Annotated[
    Region,
    typer.Option(
        "--region",
        help="What of each person is hidden: body (each person whole) or head (only the head, placed "
        "from the face keypoints; someone whose head is not found is hidden whole). head leaves "
        "bodies visible: clothes, gait and build can identify.",
        rich_help_panel=WHO,
    ),
]
Zones = Annotated[
    Path | None,
    typer.Option(
        "--zones",
        help="Hide only the people whose feet (the bottom centre of their box) are inside these "
        "polygons (a JSON file: see docs/guide.md); everyone else is left visible. Default: "
        "everywhere. Costs privacy: a person outside every zone is shown raw.",
        show_default=False,
        metavar="FILE.json",
        dir_okay=False,
        rich_help_panel=WHO,
    ),
]
ExcludeZones = Annotated[
    Path | None,
    typer.Option(
        "--exclude-zones",
        help="Leave the people whose feet are inside these polygons visible (a JSON file, as for "
        "--zones). Default: none. Costs privacy: a person inside a zone is shown raw.",
        show_default=False,
        metavar="FILE.json",
        dir_okay=False,
        rich_help_panel=WHO,
    ),
]
KeepTrack = Annotated[
    list[int] | None,
    typer.Option(
        "--keep-track",
        help="Leave this track id visible (repeatable), e.g. someone who consented. Ids are those a "
        "run with the same input and settings assigns (see them with --preview or --draw-pose). "
        "Default: none. Costs privacy: if the tracker swaps two people's ids, the other one is shown.",
        min=1,
        show_default=False,
        metavar="N",
        rich_help_panel=WHO,
    ),
]
MaxRegion = Annotated[
    float | None,
    typer.Option(
        "--max-region",
        help="Take a person box larger than this fraction of the frame for a false detection and "
        "leave it visible, e.g. 0.6. Default: off. Costs privacy: a person close to the camera fills "
        "the frame and is then shown.",
        min=0.001,
        max=1.0,
        show_default=False,
        metavar="FRACTION",
        rich_help_panel=WHO,
    ),
]
From = Annotated[
    str | None,
    typer.Option(
        "--from",
        help="Anonymize from this time on (90, 1:30 or 00:01:30.5, after the first frame); the output "
        "is that span alone, starting at 0. Default: the start.",
        show_default=False,
        metavar="TIME",
    ),
]
To = Annotated[
    str | None,
    typer.Option(
        "--to",
        help="Anonymize up to this time (exclusive; as --from). Default: the end.",
        show_default=False,
        metavar="TIME",
    ),
]
DetectEvery = Annotated[
    int,
    typer.Option(
        "--detect-every",
        help="Run the full pose detector on every N-th frame; in between, people are carried by "
        "optical flow, and motion outside the hidden regions (someone entering) brings the detector "
        "back at once. 1 = the detector on every frame: slower, and no region rests on the flow. "
        "Higher is faster; between detections each region follows the flow (covering where the person "
        "was and where the flow puts them), which covers a sudden move less surely than the detector.",
        min=1,
        metavar="N",
        rich_help_panel=SPEED,
    ),
]
CropPose = Annotated[
    int,
    typer.Option(
        "--crop-pose",
        help="Between full detections, re-measure each tracked person with the pose network on a "
        "crop around them (at most 256 px), on frames with at most N people; more people, or 0, "
        "leaves their keypoints to optical flow alone. About 5-10 ms per person; it keeps keypoints "
        "close to a full detection's with the detector on every third frame only.",
        min=0,
        metavar="N",
        rich_help_panel=SPEED,
    ),
]
CropPoseStill = Annotated[
    float,
    typer.Option(
        "--crop-pose-still",
        help="A tracked person none of whose tracked points moved PX pixels since the previous frame "
        "skips the crop pass and keeps the flow's estimate (for someone still, the last measurement): "
        "faster where people sit or stand, and their keypoints stay a full detection's. 0 re-measures "
        "everyone.",
        min=0.0,
        metavar="PX",
        rich_help_panel=SPEED,
    ),
]
StillDetectEvery = Annotated[
    int,
    typer.Option(
        "--still-detect-every",
        help="While everyone is still where the last full detection found them and nothing else "
        "has changed since (people sitting or standing, an empty scene), the detector waits up to N "
        "frames instead of --detect-every: it would see the same picture again. Motion outside the "
        "regions still brings it at once. A value at most --detect-every keeps the plain cadence.",
        min=0,
        metavar="N",
        rich_help_panel=SPEED,
    ),
]
CrowdPeople = Annotated[
    int,
    typer.Option(
        "--crowd-people",
        help="A frame on which the detector finds at least N candidates (confidence 0.05 or more) is "
        "looked at again in 3x3 overlapping tiles at confidence 0.03 (crowds hide people the model "
        "finds only when larger; 9 more inferences per crowded frame, about 10x its detection time). "
        "0 = off: faster in crowds, and misses more people there.",
        min=0,
        metavar="N",
        rich_help_panel=SPEED,
    ),
]
