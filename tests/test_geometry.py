import cv2
import numpy as np
import pytest
from recanon_sdk.evaluation import faces_found
from recanon_sdk.geometry import CropGeometry, obscure_whole_frame

from tests.conftest import SHARED, need_shared


def test_regions_expand_by_margin_and_clip_to_frame():
    geometry = CropGeometry(margin=0.25, feather=0.0)
    regions = geometry.regions(np.array([[10, 10, 50, 90], [-5, 70, 30, 130]], np.float32), (100, 60))
    assert regions.tolist() == [[0, 0, 60, 100], [0, 55, 39, 100]]


def test_degenerate_box_still_covers_a_pixel():
    regions = CropGeometry(margin=0.0).regions(np.array([[5, 5, 5, 5]], np.float32), (10, 10))
    x0, y0, x1, y1 = regions[0]
    assert x1 > x0 and y1 > y0


def test_paste_replaces_the_person_box_fully_and_never_mutates_input():
    geometry = CropGeometry(margin=0.2, feather=0.2)
    image = np.zeros((200, 200, 3), np.uint8)
    box = np.array([[50, 40, 150, 160]], np.float32)
    regions = geometry.regions(box, image.shape[:2])
    crops = geometry.extract(image, regions)
    out = geometry.paste(image, regions, [np.full_like(crops[0], 200)])
    assert image.max() == 0, "the input frame was modified"
    inside = out[40:160, 50:150]
    assert inside.min() == 200, "feathering leaked original pixels into the person box"
    x0, y0, x1, y1 = regions[0]
    assert out[:y0].max() == 0 and out[y1:].max() == 0 and out[:, :x0].max() == 0 and out[:, x1:].max() == 0
    # the edge of the region is a blend, not a hard cut
    assert 0 < out[y0, (x0 + x1) // 2, 0] < 200


def test_extract_resizes_to_model_input_and_paste_resizes_back():
    geometry = CropGeometry(margin=0.0, feather=0.0)
    image = np.random.default_rng(1).integers(0, 255, (120, 100, 3), dtype=np.uint8)
    regions = np.array([[10, 20, 43, 97]], np.int32)
    crop = geometry.extract(image, regions, size=(128, 64))[0]
    assert crop.shape == (128, 64, 3)
    out = geometry.paste(image, regions, [crop])
    # a resize round trip of the same pixels stays close to them
    assert np.abs(out[20:97, 10:43].astype(int) - image[20:97, 10:43]).mean() < 60
    assert np.array_equal(out[:20], image[:20])


def test_invalid_margin_is_rejected():
    with pytest.raises(ValueError, match="margin"):
        CropGeometry(margin=-0.1)


def test_obscure_whole_frame_destroys_detail():
    rng = np.random.default_rng(2)
    frame = rng.integers(0, 255, (240, 320, 3), dtype=np.uint8)
    out = obscure_whole_frame(frame)
    assert out.shape == frame.shape
    # high-frequency content is gone: neighbouring pixels are nearly equal
    assert (
        np.abs(np.diff(out.astype(int), axis=1)).mean()
        < 0.1 * np.abs(np.diff(frame.astype(int), axis=1)).mean()
    )


@pytest.mark.shared
def test_obscure_whole_frame_hides_a_face_that_fills_the_frame():
    """A close-up (ORL: a face filling 92 × 112) obscured whole: YuNet finds no face left."""
    orl = need_shared(SHARED / "data" / "faces" / "orl")
    yunet = need_shared(SHARED / "models" / "face_detection_yunet_2026may.onnx")
    frames = [
        cv2.cvtColor(cv2.imread(str(orl / f"s{s}" / "1.pgm"), cv2.IMREAD_GRAYSCALE), cv2.COLOR_GRAY2RGB)
        for s in range(1, 21)
    ]
    assert sum(faces_found(frames, str(yunet))) >= 16  # the detector does see these faces
    assert sum(faces_found([obscure_whole_frame(f) for f in frames], str(yunet))) == 0


def _blend_whole_region(geometry, out, region, patch, protect):
    """The paste-back written plainly: every pixel of the region blended with its feather weight."""
    from recanon_sdk.geometry import _feather_mask, _protected

    x0, y0, x1, y1 = region
    h, w = y1 - y0, x1 - x0
    if patch.shape[:2] != (h, w):
        interpolation = cv2.INTER_AREA if patch.shape[0] > h else cv2.INTER_LINEAR
        patch = cv2.resize(patch, (w, h), interpolation=interpolation)
    feather_px, target = round(geometry.feather * min(h, w)), out[y0:y1, x0:x1]
    if feather_px < 1:
        target[...] = patch
        return
    ramps = (x0 > 0, y0 > 0, x1 < out.shape[1], y1 < out.shape[0])
    alpha = _feather_mask(h, w, feather_px, ramps)
    if protect is not None:
        alpha = _protected(alpha, protect, (x0, y0, x1, y1))
    blended = alpha * patch.astype(np.float32) + (1 - alpha) * target.astype(np.float32)
    target[...] = np.clip(blended + 0.5, 0, 255).astype(np.uint8)


def test_paste_blends_only_the_feathered_edge_and_equals_blending_the_whole_region():
    """The paste copies the patch where the feather weight is 1 and blends the edge strips only:
    byte for byte what blending every pixel gives, for any region, feather, border and box."""
    rng = np.random.default_rng(7)
    checked = 0
    for _ in range(400):
        height, width = (int(v) for v in rng.integers(8, 90, 2))
        x0, x1 = sorted(int(v) for v in rng.integers(0, width + 1, 2))
        y0, y1 = sorted(int(v) for v in rng.integers(0, height + 1, 2))
        if x1 - x0 < 1 or y1 - y0 < 1:
            continue
        geometry = CropGeometry(feather=float(rng.choice([0.0, 0.02, 0.06, 0.15, 0.25])))
        image = rng.integers(0, 256, (height, width, 3), np.uint8)
        shape = (y1 - y0, x1 - x0) if rng.random() < 0.7 else tuple(int(v) for v in rng.integers(1, 50, 2))
        patch = rng.integers(0, 256, (*shape, 3), np.uint8)
        protect = None
        if rng.random() < 0.5:
            protect = np.array([x0, y0, x1, y1], float) + rng.uniform(-4, 20, 4) * [1, 1, -1, -1]
        fast, plain = image.copy(), image.copy()
        geometry.paste_inplace(
            fast, np.array([[x0, y0, x1, y1]]), [patch], None if protect is None else [protect]
        )
        _blend_whole_region(geometry, plain, (x0, y0, x1, y1), patch, protect)
        np.testing.assert_array_equal(fast, plain)
        checked += 1
    assert checked > 300
