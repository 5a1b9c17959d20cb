import numpy as np
import pytest
from recanon_sdk.enhance import CLASSIC_ENHANCERS, Blur, Enhancer, Pixelate, make_enhancer


def detail(image: np.ndarray) -> float:
    """Mean absolute difference between horizontal neighbours: high for sharp images."""
    return float(np.abs(np.diff(image.astype(np.int32), axis=1)).mean())


@pytest.mark.parametrize("name", CLASSIC_ENHANCERS)
def test_enhancers_keep_shape_remove_detail_and_do_not_mutate(name):
    rng = np.random.default_rng(0)
    crops = [rng.integers(0, 255, (h, w, 3), dtype=np.uint8) for h, w in ((160, 80), (37, 19), (400, 220))]
    copies = [c.copy() for c in crops]
    enhancer = make_enhancer(name)
    assert isinstance(enhancer, Enhancer)
    out = enhancer.enhance(crops)
    assert [o.shape for o in out] == [c.shape for c in crops]
    assert all(o.dtype == np.uint8 for o in out)
    assert all(np.array_equal(c, k) for c, k in zip(crops, copies, strict=True))
    for crop, result in zip(crops, out, strict=True):
        assert detail(result) < 0.35 * detail(crop)


def test_strength_scales_with_person_size():
    blur, pixelate = Blur(), Pixelate()
    assert blur.sigma_for(600, 300) >= 9 * blur.sigma_for(60, 30)
    assert pixelate.cell_for(800, 400) >= 8 * pixelate.cell_for(100, 50) - 1


def test_stronger_blur_removes_more_detail():
    crop = np.random.default_rng(1).integers(0, 255, (200, 100, 3), dtype=np.uint8)
    weak, strong = Blur(strength=0.02).enhance([crop])[0], Blur(strength=0.2).enhance([crop])[0]
    assert detail(strong) < detail(weak)


def test_bad_crop_is_rejected_with_a_clear_message():
    with pytest.raises(ValueError, match="uint8"):
        Blur().enhance([np.zeros((10, 10, 3), np.float32)])


def test_unknown_enhancer_name():
    with pytest.raises(ValueError, match="unknown enhancer"):
        make_enhancer("sparkle")


def test_the_packaged_gx_runs_its_onnx_form_on_the_cpu_even_where_torch_is_installed():
    from recanon_sdk.enhance import make_enhancer
    from recanon_sdk.runtime.onnx_generator import OnnxGenerator

    gx = make_enhancer("gx", model_secret=bytes(32))
    assert isinstance(gx, OnnxGenerator)
