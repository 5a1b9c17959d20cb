"""``recanon anonymize``: every person in a video blurred, pixelated or masked; pose kept in a sidecar.

One source runs here as it always has (:mod:`.single`); several sources, a glob, a folder with videos
below it, or a batch option (``--jobs``, ``--resume``, ``--ray``, ``--json``) make a batch
(:mod:`.batch`).
"""

from __future__ import annotations

from pathlib import Path

from recanon_cli.commands.anonymize import extra_options as x
from recanon_cli.commands.anonymize import options as o
from recanon_cli.commands.anonymize.extra_options import Region
from recanon_cli.commands.anonymize.options import AnonymizeOptions, Backend, Engine


def anonymize(
    sources: o.Sources,
    output: o.Output = None,
    sidecar: o.Sidecar = None,
    enhancer: o.Enhancer = None,
    gx_weights: o.GxWeights = None,
    strength: o.Strength = None,
    pose_model: o.PoseModel = "yolo11n-pose",
    imgsz: o.Imgsz = None,
    conf: o.Conf = None,
    tiles: o.Tiles = None,
    margin: o.Margin = 0.2,  # CropGeometry's default, held equal by a test (no cv2 import for --help)
    hold: o.Hold = 15,
    codec: o.Codec = "libx264",
    crf: o.Crf = 23,
    preset: o.Preset = "veryfast",
    encoder_threads: o.EncoderThreads = 1,
    keep_audio: o.KeepAudio = False,
    max_frames: o.MaxFrames = None,
    device: o.Device = "cpu",
    backend: o.BackendOpt = Backend.auto,
    provider: o.Provider = None,
    engine: o.EngineOpt = Engine.auto,
    blur_px: x.BlurPx = None,
    cell_px: x.CellPx = None,
    color: x.Color = None,
    replace_with: x.ReplaceWith = None,
    draw_pose: x.DrawPose = False,
    preview: x.Preview = False,
    region: x.RegionOpt = Region.body,
    zones: x.Zones = None,
    exclude_zones: x.ExcludeZones = None,
    keep_track: x.KeepTrack = None,
    max_region: x.MaxRegion = None,
    start: x.From = None,
    end: x.To = None,
    detect_every: x.DetectEvery = 3,
    crop_pose: x.CropPose = 8,
    crop_pose_still: x.CropPoseStill = 2.0,
    still_detect_every: x.StillDetectEvery = 12,
    crowd_people: x.CrowdPeople = 6,
    deployment: o.Deployment = None,
    device_key: o.DeviceKey = None,
    passphrase_file: o.PassphraseFile = None,
    seal_originals: o.SealOriginals = False,
    originals_quality: o.OriginalsQuality = "23",
    overwrite: o.Overwrite = False,
    quiet: o.Quiet = False,
    jobs: o.Jobs = None,
    resume: o.Resume = False,
    ray: o.Ray = None,
    max_retries: o.MaxRetries = 2,
    json: o.Json = False,
) -> None:
    """Anonymize every person in SOURCES; write the video and a pose sidecar (JSON Lines).

    Examples:

      recanon anonymize walk.mp4

      recanon anonymize cam.mkv -o out.mp4 --enhancer pixelate --strength 0.12

      recanon anonymize rtsp://10.0.0.5/stream -o cam.anon.mp4 --max-frames 3000

      recanon anonymize walk.mp4 --preview --draw-pose --from 0:10 --to 0:20   # see what is found

      recanon anonymize shop.mp4 --region head --exclude-zones staff.json --keep-track 3

      recanon anonymize archive/ -o anon/ --jobs 2          # every video below archive/, 2 at once

      recanon anonymize archive/ -o anon/ --resume         # after a crash: redo only what is not complete

      recanon anonymize 'cams/*/2024-*.mkv' -o anon/ --ray auto --json > results.jsonl
    """
    opts = AnonymizeOptions(
        output=output, sidecar=sidecar, enhancer=enhancer, gx_weights=gx_weights, strength=strength,
        pose_model=pose_model, imgsz=imgsz, conf=conf, tiles=tiles, margin=margin, hold=hold,
        codec=codec, crf=crf, preset=preset, encoder_threads=encoder_threads, keep_audio=keep_audio,
        max_frames=max_frames,
        device=device, backend=backend, provider=provider, engine=engine, deployment=deployment,
        device_key=device_key, passphrase_file=passphrase_file, seal_originals=seal_originals,
        originals_quality=originals_quality, overwrite=overwrite, quiet=quiet, jobs=jobs,
        resume=resume, ray=ray, max_retries=max_retries, json=json, blur_px=blur_px, cell_px=cell_px,
        color=color, replace_with=replace_with, draw_pose=draw_pose, preview=preview,
        region=region.value, zones=zones, exclude_zones=exclude_zones, keep_tracks=tuple(keep_track or ()),
        max_region=max_region, start=start, end=end, detect_every=detect_every, crowd_people=crowd_people,
        crop_pose=crop_pose, crop_pose_still=crop_pose_still, still_detect_every=still_detect_every,
    )  # fmt: skip
    if len(sources) == 1 and not opts.wants_batch:
        from recanon_cli.commands.anonymize.model_loading import start_model_loading

        loading = start_model_loading(sources[0], opts)  # beside the imports and checks below
        if not is_batch_source(sources[0]):  # a video file never is: a load started is taken
            from recanon_cli.commands.anonymize.single import run_single

            run_single(sources[0], opts, loading)
            return
    from recanon_cli.commands.anonymize.batch import run_batch

    run_batch(sources, opts)


def is_batch_source(source: str) -> bool:
    """Whether one source alone makes a batch: a glob that names no file, or a folder that holds a video
    below it, or images only in its subfolders (a folder with images at its top level and no video
    below it is one set of stills; an empty one is reported as before)."""
    from recanon_sdk.batch.inputs import folder_mode, is_glob
    from recanon_sdk.video.reader import is_stream_url

    if is_stream_url(source):
        return False
    path = Path(source)
    if path.is_dir():
        return folder_mode(path) == "batch"
    return not path.exists() and is_glob(source)
