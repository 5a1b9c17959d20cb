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
