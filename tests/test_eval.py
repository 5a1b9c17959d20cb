"""`recanon eval` on real keypoint ground truth: every method measured, numbers that mean something."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from recanon_cli.main import app
from recanon_sdk.evaluation import (
    EvalConfig,
    FaceEmbeddings,
    evaluate,
    identity_verification,
    oks_ap,
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
    assert oks_ap(truth, perfect, (256, 128))[0] == pytest.approx(1.0)
    far = kp.copy()
    far[:, 0] += 60
    wrong = [
        People(
            xyxy=np.array([[10.0, 5, 110, 250]]),
            score=np.array([0.9]),
            keypoints=far[None].astype(np.float32),
        )
    ] * 2
    assert oks_ap(truth, wrong, (256, 128))[0] < 0.05
    # a bootstrap draw picks portraits by index, repeats allowed: all right, all wrong, or a mix
    mixed = [perfect[0], wrong[0]]
    assert oks_ap(truth, mixed, (256, 128), order=[0, 0])[0] == pytest.approx(1.0)
    assert oks_ap(truth, mixed, (256, 128), order=[1, 1, 1])[0] < 0.05
    both = oks_ap(truth, mixed, (256, 128))[0]
    assert 0.05 < both < 1.0 and oks_ap(truth, mixed, (256, 128), order=[0, 1])[0] == both


def test_body_keypoints_score_the_body_whatever_the_face_keypoints_say():
    from recanon_sdk.evaluation import body_keypoints_only
    from recanon_sdk.types import People

    kp = np.zeros((17, 3))
    kp[:, 0], kp[:, 1], kp[:, 2] = np.linspace(20, 100, 17), np.linspace(10, 240, 17), 2
    face_off = kp.copy()
    face_off[:5, 0] += 40  # a head rendered so that P misplaces the nose, eyes and ears
    people = [People(np.array([[10.0, 5, 110, 250]]), np.array([0.9]), face_off[None].astype(np.float32))] * 2
    everything = oks_ap([kp, kp], people, (256, 128))[0]
    body = oks_ap(body_keypoints_only([kp, kp]), people, (256, 128))[0]
    assert everything <= 0.5 and body == pytest.approx(1.0)  # 12 of 17 right: OKS ≈ 0.7
    face_only = kp.copy()
    face_only[5:, 2] = 0
    assert body_keypoints_only([face_only]) == [None]  # nothing left to score


def test_all_sources_summary_weights_each_source_by_its_portraits():
    from recanon_sdk.evaluation.report import summarize

    report = {
        "sources": {
            "a": {
                "portraits": 30,
                "methods": {"raw": {"oks_ap": 0.8}, "gx": {"oks_ap": 0.4}, "half": {"oks_ap": 0.4}},
            },
            "b": {
                "portraits": 10,
                "methods": {"raw": {"oks_ap": 0.4}, "gx": {"oks_ap": float("nan")}, "half": {"oks_ap": 0.2}},
            },
            "c": {"portraits": 0, "skipped": "no usable person"},
        }
    }
    raw_a, raw_b = np.array([0.7, 0.9, np.nan]), np.array([0.5, 0.3, 0.4])
    draws = {"raw": {"a": raw_a, "b": raw_b}, "half": {"a": raw_a / 2, "b": raw_b / 2}}
    summary = summarize(report, draws)
    assert summary["portraits"] == 40
    assert summary["methods"]["raw"]["oks_ap"] == pytest.approx((30 * 0.8 + 10 * 0.4) / 40)
    assert summary["methods"]["gx"] == {"oks_ap": pytest.approx(0.4), "sources": 1}  # NaN: no labels
    low, high = summary["methods"]["raw"]["oks_ap_interval"]  # draws 1 and 2; the NaN draw skipped
    assert low == pytest.approx((30 * 0.7 + 10 * 0.5) / 40, abs=0.01)
    assert high == pytest.approx((30 * 0.9 + 10 * 0.3) / 40, abs=0.01)
    # paired: half of raw in every draw is exactly 50 % of raw, however wide each interval is
    assert summary["methods"]["half"]["ap_vs_raw_interval"] == pytest.approx([0.5, 0.5])
    assert summary["methods"]["raw"]["ap_vs_raw_interval"] == pytest.approx([1.0, 1.0])
    assert "ap_vs_raw_interval" not in summary["methods"]["gx"]  # not over the same sources


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


def test_identity_verification_against_the_persons_other_photos():
    # 1-d "embeddings" (dlib's threshold 0.6) of A = 0, 0.5, 1.0 and B = 1.0, 5.0, worked by hand:
    refs = [np.array([v]) for v in (0.0, 0.5, 1.0, 1.0, 5.0)]
    ids = [0, 0, 0, 1, 1]
    probes = [np.array([0.0]), None, np.array([0.95]), np.array([0.45]), np.array([5.0])]
    # probe 0 vs A's others 0.5, 1.0 / B's 1.0, 5.0: genuine 1/2, impostor 0, AUC (1 + 1 + ½ + 1)/4
    # probe 1 missing: 0, 0, ½
    # probe 2 vs A's others 0.95, 0.45 / B's 0.05, 4.05: genuine 1/2, impostor 1/2, AUC 2/4
    # probe 3 (B) vs B's other 4.55 / A's 0.45, 0.05, 0.55: genuine 0, impostor 1, AUC 0
    # probe 4 (B) vs B's other 4.0 / A's 5.0, 4.5, 4.0: genuine 0, impostor 0, AUC (1 + 1 + ½)/3
    genuine, impostor, auc = identity_verification(refs, ids, probes, same_photo=False)
    assert genuine == pytest.approx((0.5 + 0 + 0.5 + 0 + 0) / 5)
    assert impostor == pytest.approx((0 + 0 + 0.5 + 1 + 0) / 5)
    assert auc == pytest.approx((0.875 + 0.5 + 0.5 + 0 + 2.5 / 3) / 5)
    # the default compares each probe with its own photo (0, -, 0.05, 0.55, 0 away): all but one match
    assert identity_verification(refs, ids, probes)[0] == pytest.approx((1 + 0 + 1 + 1 + 1) / 5)
    # a person with a single photo (B = 5.0, probe 0.2) has nobody to be re-identified with: it adds
    # to the impostor rate (A's 0, 0.3 both within 0.6), not to the genuine rate or the AUC
    one_d = [np.array([v]) for v in (0.0, 0.3, 5.0, 0.0, 0.3, 0.2)]
    alone = identity_verification(one_d[:3], [0, 0, 1], one_d[3:], same_photo=False)
    assert alone == pytest.approx((1.0, 1 / 3, 1.0))


def test_eval_reports_identity_as_linkage_never_a_match_rate_alone(tmp_path, monkeypatch):
    """Self vs impostor, rank-1 vs chance and AUC with intervals, from one embedding pass per method."""
    import cv2
    from recanon_sdk.evaluation import run

    rng = np.random.default_rng(0)
    for i in range(3):
        cv2.imwrite(str(tmp_path / f"{i}.png"), rng.integers(0, 256, (128, 64, 3), dtype=np.uint8))
    r0, r1, r2 = np.zeros(128), np.eye(128)[1], np.eye(128)[2]  # raw faces 1 or √2 apart
    calls = []

    def embeddings(raw, crops):
        calls.append(len(crops))
        return [
            FaceEmbeddings(0, r0, r0.copy(), [r0.copy()]),  # own face: genuine, no impostor (1 away)
            FaceEmbeddings(1, r1, None, []),  # no embedding: no match, chance
            FaceEmbeddings(2, r2, 0.5 * r2, []),  # 0.5 from its own and portrait 0's face: a tie
        ]

    monkeypatch.setattr(run, "face_embeddings", embeddings)  # where evaluate() looks it up
    config = EvalConfig(sources=[f"folder:{tmp_path}"], methods=["raw", "blur"], gx_weights=None)
    report = evaluate(config, log=lambda line: None)
    assert calls == [3, 3]  # once per method: the control reuses the embeddings
    for row in report["sources"][f"folder:{tmp_path}"]["methods"].values():
        assert row["reid_faces"] == 3 and row["dlib_found"] == pytest.approx(1 / 3)
        assert not {"reid_found", "reid_given"} & set(row)  # no raw match rate without its control
        link = row["linkage"]
        assert link["self_rate"] == pytest.approx(2 / 3)
        assert link["impostor_rate"] == pytest.approx((0 + 0 + 1 / 2) / 3)
        assert link["auc"] == pytest.approx((1 + 1 / 2 + 3 / 4) / 3)
        assert link["rank1"] == pytest.approx(
            (1 + 1 / 3 + 1 / 2) / 3
        )  # a missing probe guesses; a tie splits
        assert link["chance"] == pytest.approx(1 / 3)
        assert len(link["auc_interval"]) == 2 and link["verdict"] == "too few people"  # 3 portraits
    write_report(report, tmp_path / "r")
    saved = json.loads((tmp_path / "r" / "report.json").read_text())
    assert saved["sources"][f"folder:{tmp_path}"]["methods"]["blur"]["linkage"]["auc"] == pytest.approx(0.75)
    table = (tmp_path / "r" / "report.md").read_text()
    assert "| dlib self [95 %] | impostor [95 %] | rank-1 (chance, p) | AUC [95 %] | identity |" in table
    assert (
        "| 66.7 % [" in table and "(33.3 %, p " in table and "| 0.75 [" in table and "too few people" in table
    )


@pytest.mark.shared
def test_eval_on_coco_ground_truth(tmp_path):
    need_shared(COCO)
    config = EvalConfig(
        sources=[f"coco:{COCO}"],
        limit=8,
        methods=["raw", "resampled", "blur", "gx"],
        reid=False,
        intervals=20,
    )
    report = evaluate(config, log=lambda line: None)
    rows = report["sources"][f"coco:{COCO}"]["methods"]
    assert set(rows) == {"raw", "resampled", "blur", "gx"}
    assert rows["raw"]["oks_ap"] > 0.4  # P works on raw portraits after the codec
    assert rows["raw"]["psnr"] > rows["gx"]["psnr"] and rows["raw"]["psnr"] > rows["blur"]["psnr"]
    # GX's resolution (256×128 portraits at 128×64 and back) costs detail, not the pose
    assert rows["blur"]["psnr"] < rows["resampled"]["psnr"] < rows["raw"]["psnr"]
    assert rows["resampled"]["oks_ap"] > max(0.4, rows["blur"]["oks_ap"])
    for name, row in rows.items():  # paired bootstrap intervals; one source: the summary is its rows
        low, high = row["oks_ap_interval"]
        assert 0 <= low <= high <= 1
        assert report["summary"]["methods"][name]["oks_ap"] == pytest.approx(row["oks_ap"])
        assert report["summary"]["methods"][name]["oks_ap_interval"] == pytest.approx([low, high])
    assert rows["raw"]["oks_ap_interval"][0] > rows["blur"]["oks_ap_interval"][1]
    assert report["summary"]["methods"]["raw"]["ap_vs_raw_interval"] == pytest.approx([1.0, 1.0])
    assert report["summary"]["methods"]["blur"]["ap_vs_raw_interval"][1] < 0.5
    assert rows["blur"]["psnr"] < 25 and rows["gx"]["ssim"] < 0.9
    paths = write_report(report, tmp_path / "r")
    assert {p.name for p in paths} == {"report.json", "report.md", "privacy_utility.png"}
    table = (tmp_path / "r" / "report.md").read_text()
    assert "| gx |" in table and "resampled: the raw portrait at GX's input size" in table
    assert "## All sources" in table and "| raw | {:.3f} | [".format(rows["raw"]["oks_ap"]) in table
    assert json.loads((tmp_path / "r" / "report.json").read_text())["config"]["crf"] == 23


@pytest.mark.shared
def test_eval_runs_a_saved_pose_model_on_the_anonymized_portraits(tmp_path):
    need_shared(COCO)
    from recanon_sdk.models.pose_loss import load_pose_model, save_pose_model

    copy = save_pose_model(load_pose_model(), tmp_path / "pose.pt")  # what recanon train writes for P
    base = EvalConfig(sources=[f"coco:{COCO}"], limit=8, methods=["raw", "resampled", "blur"], reid=False)
    default = evaluate(base, log=lambda line: None)["sources"][f"coco:{COCO}"]["methods"]
    same = evaluate(replace(base, pose_weights=str(copy)), log=lambda line: None)
    rows = same["sources"][f"coco:{COCO}"]["methods"]
    assert rows["blur"]["oks_ap"] == pytest.approx(default["blur"]["oks_ap"], abs=0.02)
    assert rows["raw"] == default["raw"]  # the raw row always uses the packaged P
    assert rows["resampled"] == default["resampled"]  # and so does its resampled reference
    assert same["config"]["pose_weights"] == str(copy)


@pytest.mark.shared
def test_eval_scores_the_body_keypoints_when_asked(tmp_path):
    need_shared(COCO)
    base = EvalConfig(sources=[f"coco:{COCO}"], limit=8, methods=["raw"], reid=False)
    every = evaluate(base, log=lambda line: None)["sources"][f"coco:{COCO}"]
    body = evaluate(replace(base, keypoints="body"), log=lambda line: None)["sources"][f"coco:{COCO}"]
    assert "body keypoints only" in body["ground_truth"] and "body" not in every["ground_truth"]
    assert body["methods"]["raw"]["psnr"] == every["methods"]["raw"]["psnr"]  # the same portraits
    assert 0 < body["methods"]["raw"]["oks_ap"] <= 1
    assert body["methods"]["raw"]["oks_ap"] != every["methods"]["raw"]["oks_ap"]  # scored differently


@pytest.mark.shared
def test_the_packaged_p_for_gx_video_reads_the_packaged_gx_better_than_the_stock_p():
    """yolo11n-pose-gx (fine-tuned jointly with the packaged GX) on GX's held-out INRIA portraits:
    higher OKS AP against the raw teacher than the stock YOLO11n-pose (0.38 vs 0.22 on all 120)."""
    inria = SHARED / "data" / "images" / "inria_person"
    need_shared(inria)
    from recanon_sdk.detect.weights import PACKAGED_WEIGHTS, resolve_weights

    assert resolve_weights("yolo11n-pose-gx").sha256 == PACKAGED_WEIGHTS["yolo11n-pose-gx"][2]
    config = EvalConfig(
        sources=[f"folder:{inria}"], limit=40, heldout=0.1, methods=["gx"], reid=False, yunet=None
    )
    stock = evaluate(config, log=lambda line: None)["sources"][f"folder:{inria}"]["methods"]["gx"]
    tuned = evaluate(replace(config, pose_weights="yolo11n-pose-gx"), log=lambda line: None)
    tuned_gx = tuned["sources"][f"folder:{inria}"]["methods"]["gx"]
    assert tuned_gx["psnr"] == pytest.approx(stock["psnr"], abs=0.5)  # the same GX renderings
    assert tuned_gx["oks_ap"] > stock["oks_ap"] + 0.05


def test_eval_command_refuses_bad_sources(tmp_path, monkeypatch):
    result = CliRunner().invoke(app, ["eval", "--data", "coco:/nonexistent.json", "-o", str(tmp_path / "r")])
    assert result.exit_code == 1 and "does not exist" in result.stderr
    result = CliRunner().invoke(app, ["eval", "--data", "nope:x", "-o", str(tmp_path / "r")])
    assert result.exit_code == 1 and "KIND:PATH" in result.stderr
    result = CliRunner().invoke(
        app, ["eval", "--data", "folder:.", "--intervals", "-5", "-o", str(tmp_path / "r")]
    )
    assert result.exit_code == 2 and "intervals" in result.stderr and not (tmp_path / "r").exists()
    result = CliRunner().invoke(
        app, ["eval", "--data", "folder:.", "--method", "sharpen", "-o", str(tmp_path / "r")]
    )
    assert (
        result.exit_code == 1 and "unknown method 'sharpen'" in result.stderr and "resampled" in result.stderr
    )
    assert not (tmp_path / "r").exists()
    from recanon_sdk import evaluation

    seen = []

    def stop(config, log, sealed_gy=None):
        assert sealed_gy is None  # no --bundle given
        seen.append(config)
        raise ValueError("stopped here")

    monkeypatch.setattr(evaluation, "evaluate", stop)
    args = ["eval", "--data", "folder:.", "--method", "raw", "--method", "gx", "--method", "raw", "--no-reid"]
    result = CliRunner().invoke(app, [*args, "--intervals", "50", "-o", str(tmp_path / "r")])
    assert result.exit_code == 1 and "evaluation failed: stopped here" in result.stderr
    assert seen[0].methods == ["raw", "gx"] and seen[0].intervals == 50 and seen[0].keypoints == "all"
    result = CliRunner().invoke(app, [*args, "--keypoints", "body", "-o", str(tmp_path / "r")])
    assert result.exit_code == 1 and seen[1].keypoints == "body"
    monkeypatch.undo()
    result = CliRunner().invoke(
        app, ["eval", "--data", "folder:.", "--keypoints", "face", "-o", str(tmp_path / "r")]
    )
    assert result.exit_code == 1 and "--keypoints must be one of all, body" in result.stderr
    assert not (tmp_path / "r").exists()
    with pytest.raises(ValueError, match="keypoints must be"):
        evaluate(EvalConfig(sources=["folder:."], keypoints="face"), log=lambda line: None)
    with pytest.raises(ValueError, match="unknown method"):
        evaluate(EvalConfig(sources=["folder:."], methods=["raw", "sharpen"]), log=lambda line: None)
    with pytest.raises(ValueError):
        parse_source("folder:")


@pytest.mark.shared
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


@pytest.mark.shared
def test_eval_measures_a_keyless_attacker_next_to_gy(tmp_path):
    need_shared(COCO)
    from recanon_sdk.models import create_model
    from recanon_sdk.models.weights import save_model

    keyless = save_model(
        tmp_path / "attacker.safetensors", create_model("gy_unet_s", keyed=False), "gy_unet_s",
        {"keyed": False}, (128, 64),
    )  # fmt: skip
    gy = save_model(tmp_path / "gy.safetensors", create_model("gy_unet_s"), "gy_unet_s", {}, (128, 64))
    base = EvalConfig(sources=[f"coco:{COCO}"], limit=4, methods=["gx"], reid=False, gy_weights=str(gy))
    report = evaluate(replace(base, attacker_weights=str(keyless)), log=lambda line: None)
    rows = report["sources"][f"coco:{COCO}"]["methods"]
    assert list(rows) == ["gx", "gy_right", "gy_wrong", "attacker"]
    assert 5 < rows["attacker"]["psnr"] < 60 and rows["attacker"]["psnr"] != rows["gx"]["psnr"]
    write_report(report, tmp_path / "r")
    assert "| attacker |" in (tmp_path / "r" / "report.md").read_text()
    with pytest.raises(ValueError, match="are keyed; pass an unkeyed network"):  # GY is no attacker
        evaluate(replace(base, attacker_weights=str(gy)), log=lambda line: None)
    result = CliRunner().invoke(
        app, ["eval", "--data", "folder:.", "--attacker", str(tmp_path / "nope"), "-o", str(tmp_path / "x")]
    )
    assert result.exit_code == 1 and "attacker weights" in result.stderr and "--save" in result.stderr
    assert not (tmp_path / "x").exists()


@pytest.mark.shared
def test_eval_measures_a_deployments_sealed_gy_keyed_like_its_gx(tmp_path, monkeypatch):
    """`recanon eval --bundle` opens the demo deployment's sealed GY in memory and keys GX with the
    bundle's secret: GY then recovers (right secret), and gives GX's output back under another."""
    monkeypatch.delenv("RECANON_DEPLOYMENT", raising=False)  # "no deployment given" below means it
    inria = need_shared(SHARED / "data" / "images" / "inria_person")
    from tests.conftest import ROOT

    demo = ROOT / "examples" / "demo"
    args = ["eval", "--data", f"folder:{inria}", "--heldout", "0.1", "--limit", "12", "--method", "gx"]
    args += ["--no-reid", "--bundle", str(demo / "demo.gy.sealed"), "--key", str(demo / "DEMO-holder.key")]
    result = CliRunner().invoke(app, [*args, "-d", str(demo / "demo.deployment"), "-o", str(tmp_path / "r")])
    assert result.exit_code == 0, result.stderr
    report = json.loads((tmp_path / "r" / "report.json").read_text())
    rows = report["sources"][f"folder:{inria}"]["methods"]
    assert rows["gy_right"]["psnr"] > rows["gx"]["psnr"] + 3  # measured: about +7 dB
    assert abs(rows["gy_wrong"]["psnr"] - rows["gx"]["psnr"]) < 0.5
    assert report["config"]["gy_bundle"].endswith("demo.gy.sealed") and report["config"]["gy_weights"] is None
    bad = CliRunner().invoke(app, [*args, "-o", str(tmp_path / "x")])  # no deployment given
    assert bad.exit_code == 1 and "--bundle needs the holder key" in bad.stderr
    bad = CliRunner().invoke(app, [*args, "--gy", str(demo / "demo.gy.sealed"), "-o", str(tmp_path / "x")])
    assert bad.exit_code == 1 and "not both" in bad.stderr and not (tmp_path / "x").exists()


def test_evaluate_refuses_two_gys_or_a_sealed_gy_without_a_secret():
    from recanon_sdk.models import create_model
    from recanon_sdk.models.recover import GYRecoverer

    config = EvalConfig(sources=["folder:."], methods=["gx"], gy_weights="gy.safetensors")
    keyless = GYRecoverer(create_model("gy_unet_s", keyed=False).state_dict(), None, arch="gy_unet_s",
                          model_kwargs={"keyed": False})  # fmt: skip
    with pytest.raises(ValueError, match="not both"):
        evaluate(config, log=lambda line: None, sealed_gy=(keyless, bytes(32)))
    with pytest.raises(ValueError, match="carries no deployment secret"):
        evaluate(replace(config, gy_weights=None), log=lambda line: None, sealed_gy=(keyless, None))
