"""`recanon eval` on real keypoint ground truth: every method measured, numbers that mean something."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from recanon_cli.main import app
from recanon_sdk.evaluation import (
    EvalConfig,
    _oks_ap,
    evaluate,
    identity_verification,
    parse_source,
    write_report,
)
from typer.testing import CliRunner

from tests.conftest import SHARED, need_shared

COCO = SHARED / "data" / "pose_gt" / "coco" / "test_coco.json"


def test_oks_ap_is_one_for_the_truth_and_zero_for_nothing():
    import numpy as np
    from recanon_sdk.types import People

    kp = np.zeros((17, 3))
    kp[:, 0], kp[:, 1], kp[:, 2] = np.linspace(20, 100, 17), np.linspace(10, 240, 17), 2
    truth = [kp, kp.copy()]
    perfect = [
        People(
            xyxy=np.array([[10.0, 5, 110, 250]]), score=np.array([0.9]), keypoints=kp[None].astype(np.float32)
        )
    ] * 2
    assert _oks_ap(truth, perfect, (256, 128))[0] == pytest.approx(1.0)
    far = kp.copy()
    far[:, 0] += 60
    wrong = [
        People(
            xyxy=np.array([[10.0, 5, 110, 250]]),
            score=np.array([0.9]),
            keypoints=far[None].astype(np.float32),
        )
    ] * 2
    assert _oks_ap(truth, wrong, (256, 128))[0] < 0.05


def test_identity_verification_tells_identity_from_faces_that_all_look_alike():
    rng = np.random.default_rng(0)
    people = rng.normal(size=(4, 128))  # four identities, far apart in embedding space
    ids = [i % 4 for i in range(40)]
    refs = [people[i] + rng.normal(scale=0.02, size=128) for i in ids]
    # raw faces: identifying
    genuine, impostor, auc = identity_verification(refs, ids, refs)
    assert (genuine, impostor, auc) == (1.0, 0.0, 1.0)
    # a rendering that makes every face the same point: matches none better than any other
    same = [np.mean(people, axis=0)] * 40
    genuine, impostor, auc = identity_verification(refs, ids, same)
    assert auc == pytest.approx(0.5, abs=0.05)
    # faces nudged towards their own identity but still close to everyone: AUC sees it, rates do not
    nudged = [0.9 * np.mean(people, axis=0) + 0.1 * people[i] for i in ids]
    _, _, auc_nudged = identity_verification(refs, ids, nudged)
    assert auc_nudged > 0.9
    # no embedding at all counts as no match and as chance
    genuine, impostor, auc = identity_verification(refs, ids, [None] * 40)
    assert (genuine, impostor, auc) == (0.0, 0.0, 0.5)


def test_eval_on_coco_ground_truth(tmp_path):
    need_shared(COCO)
    config = EvalConfig(sources=[f"coco:{COCO}"], limit=8, methods=["raw", "blur", "gx"], reid=False)
    report = evaluate(config, log=lambda line: None)
    rows = report["sources"][f"coco:{COCO}"]["methods"]
    assert set(rows) == {"raw", "blur", "gx"}
    assert rows["raw"]["oks_ap"] > 0.4  # P works on raw portraits after the codec
    assert rows["raw"]["psnr"] > rows["gx"]["psnr"] and rows["raw"]["psnr"] > rows["blur"]["psnr"]
    assert rows["blur"]["psnr"] < 25 and rows["gx"]["ssim"] < 0.9
    paths = write_report(report, tmp_path / "r")
    assert {p.name for p in paths} == {"report.json", "report.md", "privacy_utility.png"}
    assert "| gx |" in (tmp_path / "r" / "report.md").read_text()
    assert json.loads((tmp_path / "r" / "report.json").read_text())["config"]["crf"] == 23


def test_eval_runs_a_saved_pose_model_on_the_anonymized_portraits(tmp_path):
    need_shared(COCO)
    from recanon_sdk.models.pose_loss import load_pose_model, save_pose_model

    copy = save_pose_model(load_pose_model(), tmp_path / "pose.pt")  # what recanon train writes for P
    base = EvalConfig(sources=[f"coco:{COCO}"], limit=8, methods=["raw", "blur"], reid=False)
    default = evaluate(base, log=lambda line: None)["sources"][f"coco:{COCO}"]["methods"]
    same = evaluate(replace(base, pose_weights=str(copy)), log=lambda line: None)
    rows = same["sources"][f"coco:{COCO}"]["methods"]
    assert rows["blur"]["oks_ap"] == pytest.approx(default["blur"]["oks_ap"], abs=0.02)
    assert rows["raw"] == default["raw"]  # the raw row always uses the packaged P
    assert same["config"]["pose_weights"] == str(copy)


def test_eval_command_refuses_bad_sources(tmp_path):
    result = CliRunner().invoke(app, ["eval", "--data", "coco:/nonexistent.json", "-o", str(tmp_path / "r")])
    assert result.exit_code == 1 and "does not exist" in result.stderr
    result = CliRunner().invoke(app, ["eval", "--data", "nope:x", "-o", str(tmp_path / "r")])
    assert result.exit_code == 1 and "KIND:PATH" in result.stderr
    with pytest.raises(ValueError):
        parse_source("folder:")


def test_eval_gives_a_head_pinned_gx_the_heads_p_finds_on_the_raw_portraits(tmp_path, monkeypatch):
    need_shared(COCO)
    from recanon_sdk.enhance.learned import LearnedEnhancer
    from recanon_sdk.models import create_model
    from recanon_sdk.models.weights import save_model

    pin = {"blur": 0.1, "cell": 8, "head": True}
    gx = create_model("gx_unet_s", pin=pin)
    path = save_model(tmp_path / "gx.safetensors", gx, "gx_unet_s", {"pin": pin}, (128, 64), {})
    given = []
    enhance = LearnedEnhancer.enhance

    def spy(self, crops, heads=None):
        given.append((len(crops), heads))
        return enhance(self, crops, heads)

    monkeypatch.setattr(LearnedEnhancer, "enhance", spy)
    config = EvalConfig(
        sources=[f"coco:{COCO}"], limit=6, methods=["raw", "gx"], gx_weights=str(path), reid=False
    )
    result = evaluate(config, log=lambda line: None)["sources"][f"coco:{COCO}"]
    assert "gx" in result["methods"]
    ((count, heads),) = given
    pin = result["gx_head_pin"]
    assert pin["heads_unknown"] == sum(h is None for h in heads) / count
    assert 0 < pin["pinned_share"] < 1
    assert heads is not None and len(heads) == count
    known = [h for h in heads if h is not None]
    assert known  # P places the heads of COCO's labelled people
    height, width = config.size
    for boxes in known:  # in the portrait's pixels
        assert ((boxes[:, 2] > 0) & (boxes[:, 0] < width) & (boxes[:, 3] > 0) & (boxes[:, 1] < height)).all()
