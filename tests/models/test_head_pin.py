"""A head-pinned GX: pinned (blur + coarse + keyed band) on the blocks a head box touches, free
elsewhere, and pinned whole wherever the head is unknown (fail closed), on torch and ONNX alike."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from recanon_sdk.anonymizer import Anonymizer, AnonymizerConfig
from recanon_sdk.crops import head_pin_masks
from recanon_sdk.enhance.learned import LearnedEnhancer
from recanon_sdk.export.generators import export_generator_onnx, export_gx_with_key_inputs
from recanon_sdk.geometry import CropGeometry, head_boxes, heads_in_regions
from recanon_sdk.models import create_model
from recanon_sdk.models.keyed import block_dct, dct_matrix
from recanon_sdk.models.pinned import PinnedOutput
from recanon_sdk.models.weights import save_model
from recanon_sdk.runtime.onnx_generator import OnnxGenerator
from recanon_sdk.types import People

SECRET = bytes(range(32))
HEAD_PIN = {"blur": 0.1, "cell": 8, "head": True}
HEAD_SCALED = {"blur": 0.1, "cell": 0, "head": True, "head_scale": 0.1}


def _noisy_gx(pin: dict | None, **kwargs) -> torch.nn.Module:
    torch.manual_seed(0)
    gx = create_model("gx_unet_s", pin=pin, **kwargs)
    for p in gx.net.parameters():  # weights that pass plenty of the input's detail through
        p.data.normal_(0, 0.2)
    return gx


def test_the_mask_pins_exactly_its_blocks_and_no_mask_pins_everything() -> None:
    scrambler = create_model("gx_unet_s").scrambler
    x, u = torch.rand(2, 3, 128, 64), torch.rand(2, 3, 128, 64)
    whole = PinnedOutput(scrambler, blur=0.1, cell=8)
    head = PinnedOutput(scrambler, blur=0.1, cell=8, head=True)
    mask = torch.zeros(2, 1, 128, 64)
    mask[:, :, 16:40, 16:48] = 1
    out = head(x, u, mask)
    inside = mask.bool().expand_as(out)
    assert torch.equal(out[~inside], u[~inside])  # free where no head is
    assert torch.allclose(out[inside], whole(x, u)[inside], atol=1e-6)  # pinned where one is
    assert torch.allclose(head(x, u), whole(x, u), atol=1e-6)  # no mask: all of it (fail closed)
    with pytest.raises(ValueError, match="top"):
        PinnedOutput(scrambler, top=0.5, head=True)


def test_a_head_pinned_gx_keeps_fine_detail_off_the_head_only() -> None:
    gx = _noisy_gx(HEAD_PIN)
    free = _noisy_gx(None)
    crop = (np.random.default_rng(1).random((128, 64, 3)) * 255).astype(np.uint8)
    head = np.array([[16.0, 8, 48, 40]])  # blocks x 2-5, y 1-4
    pinned_enh = LearnedEnhancer(gx.state_dict(), SECRET, arch="gx_unet_s", model_kwargs={"pin": HEAD_PIN})
    free_enh = LearnedEnhancer(free.state_dict(), SECRET, arch="gx_unet_s")
    assert pinned_enh.wants_heads and not free_enh.wants_heads
    with_head = pinned_enh.enhance([crop], heads=[head])[0].astype(int)
    unknown = pinned_enh.enhance([crop], heads=[None])[0].astype(int)
    unpinned = free_enh.enhance([crop])[0].astype(int)
    region = np.zeros((128, 64), bool)
    region[8:40, 16:48] = True
    # off the head the output is the free network's (the scrambling is per block, so block-exact)
    assert np.abs(with_head[~region] - unpinned[~region]).max() <= 1
    # on the head it is the pinned one, the same as when the head is unknown and all is pinned
    assert np.abs(with_head[region] - unknown[region]).max() <= 1
    assert np.abs(unknown[~region] - unpinned[~region]).mean() > 5
    assert np.array_equal(pinned_enh.enhance([crop])[0], unknown.astype(np.uint8))  # no heads: all


def test_a_head_scaled_pin_blurs_each_head_at_its_own_sigma_and_leaves_the_rest_free() -> None:
    from recanon_sdk.models.losses import gaussian_blur

    scrambler = create_model("gx_unet_s").scrambler
    pin = PinnedOutput(scrambler, blur=0.1, cell=0, head=True, head_scale=0.1)
    assert pin.sigma_levels(128, 64)[:3] == [1.0, 2**0.5, 2.0] and pin.sigma_levels(128, 64)[-1] == 12.8
    x, u = torch.rand(1, 3, 128, 64), torch.rand(1, 3, 128, 64)
    heads = [np.array([[8.0, 8, 28, 32]]), np.array([[30.0, 60, 62, 100]])]  # 24 and 40 px boxes
    sigma = torch.from_numpy(pin.masks([np.concatenate(heads)], [(128, 64, 3)], (128, 64)))
    assert sorted(torch.unique(sigma).tolist()) == pytest.approx([0, 2.4, 4.0])
    out = pin(x, u, sigma)
    free = (sigma == 0).expand_as(out)
    assert torch.equal(out[free], u[free])  # free where no head is
    for value, level in ((2.4, 2.0 * 2**0.5), (4.0, 4.0)):  # each head at the nearest σ level
        where = torch.isclose(sigma, torch.tensor(value)).expand_as(out)
        expect = gaussian_blur(x, level)
        assert torch.allclose(pin.outside_band(out - expect)[where], torch.zeros(int(where.sum())), atol=1e-5)
    # no mask: the whole portrait at the portrait-wide σ, as a GX pinned everywhere (fail closed)
    whole = PinnedOutput(scrambler, blur=0.1, cell=0)
    assert torch.allclose(pin(x, u), whole(x, u), atol=1e-5)
    assert not torch.allclose(gaussian_blur(x, 2.0), gaussian_blur(x, 4.0))  # the levels differ
    with pytest.raises(ValueError, match="head = true"):
        PinnedOutput(scrambler, head_scale=0.1)


def _diagonal_energy(img: torch.Tensor, low: int, high: int) -> torch.Tensor:
    """Per 8×8 block, the luma DCT energy on the anti-diagonals ``low ≤ u+v ≤ high``: ``(B, H/8, W/8)``."""
    luma = 0.299 * img[:, 0:1] + 0.587 * img[:, 1:2] + 0.114 * img[:, 2:3]
    u = torch.arange(8)
    diagonals = ((u[:, None] + u[None, :]) >= low) & ((u[:, None] + u[None, :]) <= high)
    return block_dct(luma, dct_matrix(8))[..., diagonals].pow(2).sum(-1)[:, 0]


def test_clear_diag_shows_a_pinned_head_nothing_below_a_high_band_and_leaves_the_body_free() -> None:
    """A GX scrambling only 4 ≤ u+v ≤ 5 leaves u+v ∈ {2, 3} visible; ``clear_diag = 2`` empties those
    diagonals where it pins (the head), so the head shows no more than under the 2..5 band."""
    band = {"min_diag": 4, "max_diag": 5}
    x = torch.rand(2, 3, 128, 64)
    mask = torch.zeros(2, 1, 128, 64)
    mask[:, :, :32, 16:48] = 3.0  # a head: blocks pinned at σ 3 px; the rest free
    pinned = (mask > 0)[:, 0, ::8, ::8]
    energies = {}
    for clear in (0, 2):
        gx = _noisy_gx({**HEAD_SCALED, "clear_diag": clear}, scrambler=band)
        key = gx.key_for_secret(SECRET, 128, 64)
        with torch.no_grad():  # the visible picture: the keyed band taken back out
            out = gx.scrambler.unscramble(gx(x, key.expand(2), mask), key.expand(2))
        energies[clear] = _diagonal_energy(out, 2, 3)
    assert energies[2][pinned].max() < 1e-8  # cleared where the head is (clamping aside: none here)
    assert energies[0][pinned].mean() > 1e-4  # without it the head's blur shows there
    assert torch.allclose(energies[2][~pinned], energies[0][~pinned])  # the body: untouched
    assert energies[2][~pinned].mean() > 1e-3
    with pytest.raises(ValueError, match="below the keyed band"):
        create_model("gx_unet_s", pin={**HEAD_SCALED, "clear_diag": 4}, scrambler=band)


@pytest.mark.parametrize(
    ("kwargs", "key_inputs"),
    [
        ({"pin": HEAD_PIN}, False),
        ({"pin": HEAD_PIN}, True),
        ({"pin": HEAD_SCALED}, False),
        ({"pin": {**HEAD_SCALED, "clear_diag": 2}, "scrambler": {"min_diag": 4, "max_diag": 5}}, True),
    ],
)
def test_a_head_pinned_gx_exports_to_onnx_with_a_mask_input_and_parity(tmp_path, kwargs, key_inputs) -> None:
    gx = _noisy_gx(**kwargs)
    path = save_model(tmp_path / "gx.safetensors", gx, "gx_unet_s", kwargs, (128, 64), {})
    data = export_gx_with_key_inputs(path) if key_inputs else export_generator_onnx(path, SECRET)
    onnx_gx = OnnxGenerator(data, model_secret=SECRET)
    assert onnx_gx.wants_heads
    rng = np.random.default_rng(2)
    crops = [(rng.random((150, 60, 3)) * 255).astype(np.uint8) for _ in range(3)]
    heads = [np.array([[10.0, 5, 40, 40]]), None, np.zeros((0, 4))]
    torch_gx = LearnedEnhancer(path, SECRET)
    for a, b in zip(onnx_gx.enhance(crops, heads=heads), torch_gx.enhance(crops, heads=heads), strict=True):
        assert np.abs(a.astype(int) - b).max() <= 1


def test_head_boxes_cover_every_face_keypoint_and_bystanders_count_too() -> None:
    rng = np.random.default_rng(3)
    for _ in range(50):
        x0, y0 = rng.uniform(0, 200, 2)
        w = rng.uniform(20, 100)
        h = w * rng.uniform(2.5, 4)  # a standing person
        kp = np.zeros((1, 17, 3))
        kp[0, :5, 0] = rng.uniform(x0 + 0.3 * w, x0 + 0.7 * w, 5)
        kp[0, :5, 1] = rng.uniform(y0, y0 + 0.15 * h, 5)
        kp[0, :5, 2] = 0.9
        kp[0, 11] = (x0 + 0.4 * w, y0 + 0.9 * h, 0.8)  # a hip (knee height, say): a body is seen
        (bx0, by0, bx1, by1) = head_boxes(kp, np.array([[x0, y0, x0 + w, y0 + h]]))[0]
        assert (kp[0, :5, 0] > bx0).all() and (kp[0, :5, 0] < bx1).all()
        assert (kp[0, :5, 1] > by0).all() and (kp[0, :5, 1] < by1).all()
        assert by1 - by0 >= 0.1 * h  # at least a head's height, however few keypoints are seen
    # a close-up the detector reads as a body: face keypoints on one eye, "hips" inside the face
    closeup = np.zeros((1, 17, 3))
    closeup[0, :5] = [(30, 40, 0.9), (28, 38, 0.9), (33, 38, 0.9), (25, 40, 0.5), (36, 40, 0.5)]
    closeup[0, 11:13] = [(35, 80, 0.6), (60, 80, 0.6)]
    assert np.isnan(head_boxes(closeup, np.array([[0.0, 0, 92, 112]]))).all()  # unknown: pinned whole
    lying = closeup.copy()  # the same points on someone lying down (box wider than tall) are a body
    lying[0, 11:13] = [(80, 45, 0.6), (85, 50, 0.6)]
    assert not np.isnan(head_boxes(lying, np.array([[10.0, 20, 140, 70]]))).any()
    # two people side by side: each crop gets both heads where they overlap it
    regions = np.array([[0, 0, 60, 200], [40, 0, 100, 200]])
    heads = np.array([[30.0, 10, 55, 40], [45, 12, 70, 42]])
    per_crop = heads_in_regions(regions, heads)
    assert len(per_crop[0]) == 2 and len(per_crop[1]) == 2
    masks = head_pin_masks(per_crop, [(200, 60, 3), (200, 60, 3)], (128, 64))
    assert 0 < masks.mean() < 0.25


def _bust(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A person seen from the waist up, as the detector reads face-demographics-walking-and-pause: all
    five face keypoints, shoulders about 0.7 of the box wide and 0.6 of their width below the face."""
    x0, y0 = rng.uniform(0, 200, 2)
    w = rng.uniform(60, 160)
    box = np.array([[x0, y0, x0 + w, y0 + 1.3 * w]])
    cx, cy = x0 + w / 2 + rng.uniform(-0.05, 0.05) * w, y0 + 0.2 * 1.3 * w
    kp = np.zeros((1, 17, 3))
    shoulder = 0.7 * w
    face = 0.46 * shoulder  # ear to ear
    nose, eyes = (cx, cy + 0.1 * face), [(cx - 0.2 * face, cy), (cx + 0.2 * face, cy)]
    ears = [(cx - face / 2, cy + 0.05 * face), (cx + face / 2, cy + 0.05 * face)]
    kp[0, :5, :2] = [nose, *eyes, *ears]
    kp[0, 5:7, :2] = [(cx + shoulder / 2, cy + 0.7 * shoulder), (cx - shoulder / 2, cy + 0.7 * shoulder)]
    kp[0, :7, 2] = 0.9
    return kp, box


def test_a_bust_gets_a_head_box_only_when_face_and_shoulders_are_plain() -> None:
    """People seen from the waist up (no hip or knee) get a head box when the whole face sits square
    above shoulders as wide as a body's; a close-up read as one (narrow "shoulders" in a face-filling
    box, a face seen in part, shoulders beside the face or above it) stays unknown: pinned whole."""
    rng = np.random.default_rng(5)
    for _ in range(50):
        kp, box = _bust(rng)
        (bx0, by0, bx1, by1) = head_boxes(kp, box)[0]
        assert (kp[0, :5, 0] > bx0).all() and (kp[0, :5, 0] < bx1).all()
        assert (kp[0, :5, 1] > by0).all() and (kp[0, :5, 1] < by1).all()
        shoulder = abs(kp[0, 5, 0] - kp[0, 6, 0])
        assert bx1 - bx0 >= 2.6 * 0.45 * shoulder - 1e-6  # r ≥ 0.45 shoulder widths
    kp, box = _bust(rng)
    narrow = box.copy()
    narrow[0, 2] = box[0, 0] + 2.5 * (box[0, 2] - box[0, 0])  # shoulders 0.28 of the box wide
    partial = kp.copy()
    partial[0, 3, 2] = 0.2  # an ear unseen: a face turned or cut
    unsure = kp.copy()
    unsure[0, 5, 2] = 0.4  # a shoulder under bust_conf (0.5)
    beside = kp.copy()
    beside[0, 5:7, 0] = beside[0, 5:7, 0] + 2 * abs(kp[0, 5, 0] - kp[0, 6, 0])  # both to one side
    high = kp.copy()
    high[0, 5:7, 1] = kp[0, 0, 1] + 0.2 * abs(kp[0, 5, 0] - kp[0, 6, 0])  # level with the chin
    wide_face = kp.copy()
    wide_face[0, 3:5, 0] = [kp[0, 6, 0] + 1, kp[0, 5, 0] - 1]  # ears at the shoulders: a close-up
    cases = ((kp, narrow), (partial, box), (unsure, box), (beside, box), (high, box), (wide_face, box))
    for points, person in cases:
        assert np.isnan(head_boxes(points, person)).all()
    assert not np.isnan(head_boxes(kp, box)).any()  # the unaltered bust, for contrast


class _OnePerson:
    def detect(self, images):
        kp = np.zeros((1, 17, 3), np.float32)
        kp[0, 0] = (65, 30, 0.9)  # nose
        kp[0, 1:3] = [(60, 27, 0.9), (70, 27, 0.9)]  # eyes
        kp[0, 11:13] = [(58, 100, 0.8), (72, 100, 0.8)]  # hips
        return [People(np.array([[40, 20, 90, 110]], np.float32), np.array([0.9]), kp) for _ in images]


class _RecordingEnhancer:
    name = "recording"
    input_size = (128, 64)
    wants_heads = True

    def __init__(self) -> None:
        self.heads: list = []

    def enhance(self, crops, heads=None):
        self.heads.append(heads)
        return [np.zeros_like(c) for c in crops]


def test_the_anonymizer_gives_a_head_pinned_enhancer_the_heads_in_crop_pixels() -> None:
    enhancer = _RecordingEnhancer()
    anonymizer = Anonymizer(
        AnonymizerConfig(geometry=CropGeometry(margin=0.1)), detector=_OnePerson(), enhancer=enhancer
    )
    frame = np.zeros((160, 200, 3), np.uint8)
    _, people = anonymizer.process_frame(frame)
    (boxes,) = enhancer.heads[-1]
    x0, y0, x1, y1 = people.region[0]
    sx, sy = 64 / (x1 - x0), 128 / (y1 - y0)
    nose = ((65 - x0) * sx, (30 - y0) * sy)  # the nose, in the resized crop's pixels
    assert boxes.shape == (1, 4)
    assert boxes[0, 0] < nose[0] < boxes[0, 2] and boxes[0, 1] < nose[1] < boxes[0, 3]
