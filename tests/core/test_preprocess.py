"""Preprocess turns any camera/file image into exactly what the model expects."""

from __future__ import annotations

import numpy as np
import pytest

from edgekit.models.preprocess import Preprocess, as_bgr, to_planes


def _image(h=480, w=640):
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (h, w, 3), dtype=np.uint8)


@pytest.mark.parametrize("resize", ["stretch", "center_crop", "letterbox"])
@pytest.mark.parametrize("shape", [(480, 640, 3), (333, 517), (2160, 3840, 4), (17, 9, 1)])
def test_any_image_becomes_the_model_input(resize, shape):
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, shape, dtype=np.uint8)
    pre = Preprocess(size=(64, 48), resize=resize)
    out = pre(image)
    assert out.shape == (1, 3, 64, 48) and out.dtype == np.float32


def test_normalisation_and_channel_order():
    image = np.zeros((10, 10, 3), np.uint8)
    image[..., 2] = 255  # red in BGR
    pre = Preprocess(size=(10, 10), mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))
    out = pre(image)[0]
    assert np.allclose(out[0], 1.0) and np.allclose(out[1], -1.0) and np.allclose(out[2], -1.0)
    bgr = Preprocess(size=(10, 10), channel_order="BGR", layout="NHWC")(image)[0]
    assert bgr.shape == (10, 10, 3) and np.allclose(bgr[..., 2], 1.0)


def test_center_crop_keeps_the_middle():
    image = np.zeros((100, 200, 3), np.uint8)
    image[:, 50:150] = 255  # a white square in the middle of a wide frame
    out = Preprocess(size=(32, 32), resize="center_crop", crop_ratio=1.0)(image)
    assert out.min() > 0.99  # the crop saw only the white middle


def test_round_trip_and_validation():
    pre = Preprocess(size=(224, 224), mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225), resize="center_crop")
    assert Preprocess.from_dict(pre.to_dict()) == pre
    with pytest.raises(ValueError, match="resize"):
        Preprocess(resize="squash")


def test_as_bgr_rejects_non_images():
    from edgekit.errors import InputMismatch

    with pytest.raises(InputMismatch, match="expected an image"):
        as_bgr(np.zeros((2, 3, 4, 5), np.uint8))
    assert as_bgr(np.ones((4, 4), np.float32)).max() == 255


def test_fused_fast_path_gives_the_same_numbers_as_the_plain_path():
    import dataclasses

    class Plain(Preprocess):
        @property
        def _fused(self):
            return None

    image = _image(120, 100)
    for pre in (Preprocess(size=(32, 40), mean=(0.5, 0.4, 0.3), std=(0.25, 0.25, 0.25)),
                Preprocess(size=(32, 32), mean=(0.1, 0.2, 0.3), std=(0.5,) * 3, channel_order="BGR",
                           resize="center_crop"),
                # ImageNet's: a different std per channel, in RGB order while the image is BGR
                Preprocess(size=(24, 24), mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225)),
                Preprocess(size=(24, 24), mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225),
                           channel_order="BGR")):
        assert pre._fused is not None
        np.testing.assert_allclose(pre(image), Plain(**dataclasses.asdict(pre))(image), atol=1e-5)
    assert Preprocess(channel_order="GRAY")._fused is None and Preprocess(layout="NHWC")._fused is None


@pytest.mark.parametrize("reused", [None, "fit", "other size"])
@pytest.mark.parametrize("swap", [True, False])
def test_planes_are_the_swapped_scaled_channels_written_in_place(swap, reused):
    """With reused split planes (the live pipeline's) too; planes of another size are not used."""
    image = _image(30, 40)
    scale, mean = (0.5, 0.25, 2.0), (10.0, 20.0, 30.0)  # a different one per channel, to catch a mix-up
    out = np.full((3, 30, 40), np.nan, np.float32)
    shape = {None: None, "fit": (30, 40), "other size": (20, 40)}[reused]
    planes = None if shape is None else [np.zeros(shape, np.uint8) for _ in range(3)]
    got = to_planes(image, (scale, mean), swap, out, planes)
    assert got is out
    if reused == "fit":  # the split went into the given planes
        np.testing.assert_array_equal(planes[0], image[..., 0])
    channels = image[..., ::-1] if swap else image
    for c in range(3):
        np.testing.assert_allclose(out[c], (channels[..., c].astype(np.float64) - mean[c]) * scale[c], atol=1e-5)


def test_a_grey_image_is_one_plane():
    grey = _image(12, 16)[..., 0]
    planes = to_planes(grey, ((1 / 255,) * 3, (0.0,) * 3), True)
    assert planes.shape == (1, 12, 16) and planes.dtype == np.float32
    np.testing.assert_allclose(planes[0], grey / 255, atol=1e-6)


@pytest.mark.parametrize("shape", [(60, 100), (375, 500), (480, 640)])
def test_center_crop_samples_where_resize_then_crop_does(shape):
    """The pixels sit where torchvision's Resize(256) + CenterCrop(224) - the pipeline ImageNet
    models were trained with - puts them. Why a test: cutting the centre first and resizing only
    it is cheaper, but done naively it moves the samples by up to a source pixel, and that cost a
    real INT8 ShuffleNet 2 points of top-1 on 500 ImageNet photos (76.6% -> 74.6%; torchvision's
    own: 77.2%)."""
    ih, iw = shape
    ramp = np.tile((np.arange(iw) * 200 / iw).astype(np.float32), (ih, 1))  # value grows along x
    image = np.repeat(np.round(ramp)[..., None], 3, axis=2).astype(np.uint8)
    out = Preprocess(size=(224, 224), resize="center_crop", crop_ratio=0.875).resize_image(image)[..., 0]
    factor = 256 / min(ih, iw)
    nw = round(iw * factor)
    left = (nw - 224) // 2
    x = (left + np.arange(224) + 0.5) * iw / nw - 0.5  # where each output column samples the source
    expected = np.interp(x, np.arange(iw), np.round(ramp[0]))
    assert np.abs(out.astype(np.float32).mean(axis=0) - expected).max() <= 0.75


def _photo(h, w, seed=3):
    """Smooth shading plus sensor-like noise: what a camera frame looks like to a resize."""
    import cv2

    rng = np.random.default_rng(seed)
    shading = cv2.resize(rng.uniform(40, 220, (12, 16, 3)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    return np.clip(shading + rng.normal(0, 12, (h, w, 3)), 0, 255).astype(np.uint8)


@pytest.mark.parametrize(("shape", "size", "ratio"), [((480, 640), (224, 224), 0.875), ((480, 640), (224, 224), 1.0),
                                                      ((375, 500), (224, 224), 0.875), ((720, 1280), (320, 320), 0.875),
                                                      ((333, 517), (96, 128), 0.875), ((60, 100), (224, 224), 0.875)])
def test_center_crop_gives_the_pixels_of_resizing_the_whole_image_then_cropping(shape, size, ratio):
    """Resizing only the part of the image the crop keeps (cheaper per live frame) gives the same
    picture as resizing all of it and cutting the centre, to within what moving the samples 1/8 of a
    source pixel does to a noisy photo: under a grey level on average, a few at worst. Moving them a
    quarter of a pixel already costs ~2 on average and 15 at worst on these images; a whole pixel
    (the crop-first this replaced) ~8 and 60."""
    from edgekit.models.preprocess import resize_to

    image = _photo(*shape)
    pre = Preprocess(size=size, resize="center_crop", crop_ratio=ratio)
    crop = pre.crop_geometry(image.shape)
    (nh, nw), (top, left), (h, w) = crop.resized, crop.at, crop.size
    whole = resize_to(image, (nw, nh))[top : top + h, left : left + w].astype(np.int16)
    out = pre.resize_image(image)
    assert out.shape == (h, w, 3)
    diff = np.abs(out.astype(np.int16) - whole)
    assert diff.max() <= 8 and diff.mean() <= 1.0


def test_center_crop_samples_exactly_where_the_factor_lines_up():
    """480 rows into 256: every 8th resized row starts on a whole source pixel, so the rows of a crop
    are the whole resize's exactly (an image that varies only down the rows shows it bit for bit),
    though only the rows the crop reads were resized."""
    from edgekit.models.preprocess import _spans, resize_to

    image = np.ascontiguousarray(np.broadcast_to(_photo(480, 1), (480, 640, 3)))
    pre = Preprocess(size=(224, 224), resize="center_crop", crop_ratio=0.875)
    crop = pre.crop_geometry(image.shape)
    (first_row, rows_read, _), _, _ = _spans(480, 640, crop)
    assert first_row > 0 and rows_read < 480  # a span, not the whole image
    (nh, nw), (top, left) = crop.resized, crop.at
    whole = resize_to(image, (nw, nh))[top : top + 224, left : left + 224]
    np.testing.assert_array_equal(pre.resize_image(image), whole)


@pytest.mark.parametrize("resize", ["stretch", "center_crop", "letterbox"])
def test_a_strong_downscale_averages_instead_of_aliasing(resize):
    """A 1080p frame into a 64x64 model (a factor of 0.06): fine detail (here black/white pixel noise)
    comes out as the even grey it averages to, as area averaging gives, not the speckle a single
    linear resize reads off it (it samples 2 of every 17 source pixels)."""
    import cv2

    rng = np.random.default_rng(0)
    noise = np.repeat((rng.random((1080, 1920, 1)) < 0.5).astype(np.uint8) * 255, 3, axis=2)
    out = Preprocess(size=(64, 64), resize=resize).resize_image(noise).astype(np.float32)
    image = out[14:50] if resize == "letterbox" else out  # the letterbox's picture rows (64x36), not its padding
    assert abs(image.mean() - 127.5) < 3 and image.std() < 15
    aliased = cv2.resize(noise, (64, 64), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    assert aliased.std() > 50  # what the test guards against


@pytest.mark.parametrize(("shape", "size"), [((1080, 1920), (224, 224)), ((480, 640), (64, 64)),
                                              ((3000, 4000), (224, 224))])
def test_a_strong_downscale_is_area_averaging_to_within_a_grey_level(shape, size):
    """Halving (2x2 means) and then one linear step gives what OpenCV's INTER_AREA gives, on a photo-like
    image (smooth shading plus sensor-like noise), to within about a grey level on average, at a
    fraction of its cost (``benchmarks/shrink.py``)."""
    import cv2

    image = _photo(*shape)
    out = Preprocess(size=size, resize="stretch").resize_image(image).astype(np.float32)
    area = cv2.resize(image, size[::-1], interpolation=cv2.INTER_AREA).astype(np.float32)
    assert np.abs(out - area).mean() < 1.5
