"""Image / CompressedImage <-> RGB conversions: round trips, Bayer patterns, padding, endianness, errors."""

from __future__ import annotations

import array
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from accident_anticipation_ros.conversions import (
    SUPPORTED_ENCODINGS,
    ConversionError,
    compressed_to_rgb,
    encode_compressed_fields,
    encode_image_fields,
    image_to_rgb,
    jpeg_scale,
    jpeg_size,
    msg_to_rgb,
    rgb_to_compressed,
    rgb_to_image,
    set_opencv_threads,
)

H, W = 48, 64


def smooth_rgb(h: int = H, w: int = W) -> np.ndarray:
    """Each channel a different linear ramp, so swapped channels or a shifted Bayer pattern show."""
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([40 + 2 * x, 30 + 3 * y, 200 - x - y], axis=-1).astype(np.uint8)  # (H, W, 3)


def random_rgb(seed: int = 0, h: int = H, w: int = W) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def image(data, *, height=H, width=W, encoding="rgb8", step=None, is_bigendian=0) -> SimpleNamespace:
    """A duck-typed sensor_msgs/Image (what the converter promises to accept)."""
    bpp = {"rgb8": 3, "mono8": 1, "mono16": 2}.get(encoding, 3)
    return SimpleNamespace(
        height=height,
        width=width,
        encoding=encoding,
        is_bigendian=is_bigendian,
        step=width * bpp if step is None else step,
        data=data,
    )


def check_rgb(out: np.ndarray, h: int = H, w: int = W) -> None:
    assert out.shape == (h, w, 3)
    assert out.dtype == np.uint8
    assert out.flags.c_contiguous


# --- lossless encodings --------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["rgb8", "bgr8", "rgba8", "bgra8"])
@pytest.mark.parametrize("container", ["bytes", "array", "numpy"])
def test_colour_round_trip_is_exact(encoding, container):
    rgb = random_rgb()
    fields = encode_image_fields(rgb, encoding)
    raw = fields["data"]
    fields["data"] = {"bytes": raw.tobytes(), "array": array.array("B", raw.tobytes()), "numpy": raw}[
        container
    ]
    out = image_to_rgb(SimpleNamespace(**fields))
    check_rgb(out)
    np.testing.assert_array_equal(out, rgb)


def test_bgr_and_rgba_byte_order_follow_the_encoding_name():
    pixel = np.array([[[10, 20, 30]]], dtype=np.uint8)  # R=10, G=20, B=30
    assert encode_image_fields(pixel, "bgr8")["data"].tolist() == [30, 20, 10]
    assert encode_image_fields(pixel, "rgba8")["data"].tolist() == [10, 20, 30, 255]
    assert encode_image_fields(pixel, "bgra8")["data"].tolist() == [30, 20, 10, 255]
    rgba = np.array([[[10, 20, 30, 40]]], dtype=np.uint8)
    assert encode_image_fields(rgba, "bgra8")["data"].tolist() == [30, 20, 10, 40]
    msg = SimpleNamespace(
        height=1, width=1, encoding="bgra8", is_bigendian=0, step=4, data=bytes([30, 20, 10, 0])
    )
    assert image_to_rgb(msg).tolist() == [[[10, 20, 30]]]


def test_mono8_becomes_grey_rgb():
    grey = random_rgb()[..., 0]
    out = image_to_rgb(SimpleNamespace(**encode_image_fields(grey, "mono8")))
    check_rgb(out)
    for c in range(3):
        np.testing.assert_array_equal(out[..., c], grey)


@pytest.mark.parametrize("bigendian", [0, 1])
def test_mono16_is_scaled_by_8_bits_and_respects_endianness(bigendian):
    values = np.full((2, 3), 0x12AB, dtype=np.uint16)
    values[1, 2] = 0xFF01
    data = values.astype(">u2" if bigendian else "<u2").tobytes()
    msg = SimpleNamespace(height=2, width=3, encoding="mono16", is_bigendian=bigendian, step=6, data=data)
    out = image_to_rgb(msg)
    check_rgb(out, 2, 3)
    expected = np.array(
        [[0x12, 0x12, 0x12], [0x12, 0x12, 0xFF]], dtype=np.uint8
    )  # the wrong order gives 0xAB
    for c in range(3):
        np.testing.assert_array_equal(out[..., c], expected)
    fields = encode_image_fields(values, "mono16")
    assert fields["is_bigendian"] == 0 and fields["step"] == 6
    np.testing.assert_array_equal(image_to_rgb(SimpleNamespace(**fields))[..., 0], expected)


# --- row padding, zero-copy ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "encoding,bpp", [("rgb8", 3), ("bgr8", 3), ("mono8", 1), ("mono16", 2), ("yuv422", 2)]
)
def test_row_padding_is_skipped(encoding, bpp):
    rgb = smooth_rgb()
    src = rgb[..., 0] if encoding == "mono8" else rgb
    if encoding == "mono16":
        src = rgb[..., 0].astype(np.uint16) << 8
    fields = encode_image_fields(src, encoding)
    tight = image_to_rgb(SimpleNamespace(**fields))
    pad = 13  # odd on purpose: rows start at unaligned offsets
    rows = fields["data"].reshape(H, W * bpp)
    padded = np.concatenate([rows, np.full((H, pad), 0xEE, np.uint8)], axis=1)  # garbage in the padding
    fields.update(step=W * bpp + pad, data=padded.reshape(-1))
    out = image_to_rgb(SimpleNamespace(**fields))
    check_rgb(out)
    np.testing.assert_array_equal(out, tight)


def test_data_longer_than_step_times_height_is_accepted():
    rgb = random_rgb()
    data = rgb.tobytes() + b"\x00" * 17
    np.testing.assert_array_equal(image_to_rgb(image(data)), rgb)


def test_rgb8_without_padding_is_a_read_only_view_and_copy_gives_a_writable_array():
    rgb = random_rgb()
    data = rgb.reshape(-1).copy()  # as rosbags delivers it
    out = image_to_rgb(image(data))
    assert np.shares_memory(out, data)
    assert not out.flags.writeable
    copied = image_to_rgb(image(data), copy=True)
    assert not np.shares_memory(copied, data) and copied.flags.writeable
    np.testing.assert_array_equal(copied, rgb)


# --- Bayer: our own mosaic, OpenCV's demosaic -----------------------------------------------------


def mosaic(rgb: np.ndarray, pattern: str) -> np.ndarray:
    """Reference mosaic from the ROS definition: the pattern names the top-left 2x2 block row by row."""
    h, w, _ = rgb.shape
    out = np.zeros((h, w), np.uint8)
    channel = {"r": 0, "g": 1, "b": 2}
    for y in range(2):
        for x in range(2):
            out[y::2, x::2] = rgb[y::2, x::2, channel[pattern[2 * y + x]]]
    return out


@pytest.mark.parametrize("pattern", ["rggb", "bggr", "gbrg", "grbg"])
def test_bayer_demosaic_recovers_a_smooth_image(pattern):
    rgb = smooth_rgb()
    raw = mosaic(rgb, pattern)
    msg = SimpleNamespace(
        height=H, width=W, encoding=f"bayer_{pattern}8", is_bigendian=0, step=W, data=raw.tobytes()
    )
    out = image_to_rgb(msg)
    check_rgb(out)
    err = np.abs(out.astype(int) - rgb.astype(int))
    # Bilinear demosaicing is exact on linear ramps away from the border; a pattern shifted by one
    # pixel (OpenCV's naming) would put R where B belongs and miss by ~100 levels.
    assert err[2:-2, 2:-2].max() <= 1, err[2:-2, 2:-2].max()
    assert err.max() <= 8
    # the encoder's mosaic agrees with the reference one
    np.testing.assert_array_equal(encode_image_fields(rgb, f"bayer_{pattern}8")["data"].reshape(H, W), raw)


def test_bayer_patterns_are_distinguished():
    red = np.zeros((8, 8, 3), np.uint8)
    red[..., 0] = 200
    for pattern in ["rggb", "bggr", "gbrg", "grbg"]:
        msg = SimpleNamespace(height=8, width=8, encoding=f"bayer_{pattern}8", is_bigendian=0, step=8)
        msg.data = mosaic(red, pattern).tobytes()
        centre = image_to_rgb(msg)[2:-2, 2:-2].reshape(-1, 3)
        assert (centre[:, 0] == 200).all() and (centre[:, 1:] == 0).all(), pattern


# --- YUV 4:2:2 ------------------------------------------------------------------------------------


def test_yuv422_is_uyvy_and_yuy2_is_yuyv():
    # A grey pixel pair: Y=126 maps to (126-16)*1.164 ~ 128 in OpenCV's BT.601 video range, U=V=128.
    uyvy = SimpleNamespace(
        height=1, width=2, encoding="yuv422", is_bigendian=0, step=4, data=bytes([128, 126, 128, 60])
    )
    out = image_to_rgb(uyvy)
    assert np.abs(out[0, 0].astype(int) - 128).max() <= 1
    assert np.abs(out[0, 1].astype(int) - 51).max() <= 1  # Y=60 -> 51
    yuyv = SimpleNamespace(
        height=1, width=2, encoding="yuv422_yuy2", is_bigendian=0, step=4, data=bytes([126, 128, 60, 128])
    )
    np.testing.assert_array_equal(image_to_rgb(yuyv), out)
    aliased = SimpleNamespace(**{**vars(uyvy), "encoding": "uyvy"})
    np.testing.assert_array_equal(image_to_rgb(aliased), out)


@pytest.mark.parametrize("encoding", ["yuv422", "yuv422_yuy2"])
def test_yuv422_round_trip_on_a_smooth_image(encoding):
    rgb = smooth_rgb()
    out = image_to_rgb(SimpleNamespace(**encode_image_fields(rgb, encoding)))
    check_rgb(out)
    assert np.abs(out.astype(int) - rgb.astype(int)).max() <= 4  # chroma shared by pixel pairs


# --- real message types ---------------------------------------------------------------------------


def test_rclpy_message_round_trip_keeps_header():
    pytest.importorskip("builtin_interfaces.msg", reason="ROS 2 message packages not installed")
    from builtin_interfaces.msg import Time
    from std_msgs.msg import Header

    rgb = random_rgb()
    header = Header(stamp=Time(sec=12, nanosec=345), frame_id="dashcam")
    msg = rgb_to_image(rgb, header=header, encoding="bgr8")
    assert type(msg).__name__ == "Image" and msg.encoding == "bgr8" and msg.step == W * 3
    assert msg.header.frame_id == "dashcam" and msg.header.stamp.sec == 12
    assert isinstance(msg.data, array.array)
    np.testing.assert_array_equal(image_to_rgb(msg), rgb)
    np.testing.assert_array_equal(msg_to_rgb(msg), rgb)

    png = rgb_to_compressed(rgb, header=header, fmt="png")
    assert (
        type(png).__name__ == "CompressedImage" and png.format == "png" and png.header.frame_id == "dashcam"
    )
    np.testing.assert_array_equal(msg_to_rgb(png), rgb)


def test_rosbags_deserialised_message():
    from rosbags.typesys import Stores, get_typestore

    store = get_typestore(Stores.ROS2_JAZZY)
    types = store.types
    header = types["std_msgs/msg/Header"](
        stamp=types["builtin_interfaces/msg/Time"](sec=1, nanosec=2), frame_id="cam"
    )
    rgb = random_rgb()
    for encoding in ["rgb8", "bayer_grbg8", "mono16"]:
        src = rgb[..., 1].astype(np.uint16) * 257 if encoding == "mono16" else rgb
        msg = types["sensor_msgs/msg/Image"](header=header, **encode_image_fields(src, encoding))
        raw = store.serialize_cdr(msg, "sensor_msgs/msg/Image")
        back = store.deserialize_cdr(raw, "sensor_msgs/msg/Image")
        assert isinstance(back.data, np.ndarray)
        out = image_to_rgb(back)
        check_rgb(out)
        if encoding == "rgb8":
            np.testing.assert_array_equal(out, rgb)
        if encoding == "mono16":
            np.testing.assert_array_equal(out[..., 2], rgb[..., 1])
    jpeg = types["sensor_msgs/msg/CompressedImage"](header=header, **encode_compressed_fields(smooth_rgb()))
    back = store.deserialize_cdr(store.serialize_cdr(jpeg, jpeg.__msgtype__), jpeg.__msgtype__)
    assert np.abs(msg_to_rgb(back).astype(int) - smooth_rgb().astype(int)).mean() < 2


# --- compressed -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fmt", ["jpeg", "png", "rgb8; jpeg compressed bgr8", "bgr8; png compressed", "JPG", ""]
)
def test_compressed_formats(fmt):
    rgb = smooth_rgb()
    kind = "png" if "png" in fmt else "jpeg"
    data = encode_compressed_fields(rgb, kind, quality=95)["data"]
    out = compressed_to_rgb(SimpleNamespace(format=fmt, data=data.tobytes()))
    check_rgb(out)
    err = np.abs(out.astype(int) - rgb.astype(int))
    if kind == "png":
        assert err.max() == 0
    else:
        assert err.mean() < 2


def _jpeg(rgb: np.ndarray, *flags: int) -> bytes:
    ok, buf = cv2.imencode(
        ".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 95, *flags]
    )
    assert ok
    return buf.tobytes()


def test_jpeg_size_reads_the_frame_header_past_app_segments_and_refuses_what_is_not_one():
    rgb = smooth_rgb(97, 131)
    plain = _jpeg(rgb)
    assert jpeg_size(np.frombuffer(plain, np.uint8)) == (97, 131)
    progressive = _jpeg(rgb, cv2.IMWRITE_JPEG_PROGRESSIVE, 1)  # SOF2
    assert jpeg_size(np.frombuffer(progressive, np.uint8)) == (97, 131)
    exif = b"\xff\xe1" + (2 + 3000).to_bytes(2, "big") + b"Exif\x00\x00" + bytes(2994)  # a large APP1
    assert jpeg_size(np.frombuffer(plain[:2] + exif + plain[2:], np.uint8)) == (97, 131)
    for bad in (plain[:20], b"\x89PNG\r\n\x1a\n" + bytes(40), b"\xff\xd8\xff\xda" + bytes(40)):
        assert jpeg_size(np.frombuffer(bad, np.uint8)) is None


def test_jpeg_scale_is_the_largest_reduction_that_still_covers_the_size():
    assert jpeg_scale((720, 1280), (96, 96)) == 4  # 180 x 320; 1/8 would be 90 rows
    assert jpeg_scale((720, 1280), (90, 160)) == 8
    assert jpeg_scale((720, 1280), (96, 640)) == 2  # the overlay's width
    assert jpeg_scale((720, 1280), (96, 1000)) == 1
    assert jpeg_scale((1080, 1920), (96, 96)) == 8  # 135 x 240
    assert jpeg_scale((97, 131), (12, 16)) == 1  # 1/8 would end in partial pixels
    assert jpeg_scale((100, 132), (12, 16)) == 4  # 4 divides both sides, 8 does not


@pytest.mark.parametrize(
    "size, min_size, want", [((720, 1280), (96, 96), (180, 320)), ((104, 136), (13, 17), (13, 17))]
)
def test_a_jpeg_decoded_smaller_covers_the_size_and_matches_an_area_resize(size, min_size, want):
    y, x = np.mgrid[0 : size[0], 0 : size[1]] / max(size)  # ramps over the whole frame, no wrap-around
    rgb = np.stack([40 + 200 * x, 30 + 200 * y, 230 - 100 * (x + y)], -1).astype(np.uint8)
    data = _jpeg(rgb)
    out = compressed_to_rgb(SimpleNamespace(format="jpeg", data=data), min_size)
    check_rgb(out, *want)
    assert out.shape[:2] == want
    full = compressed_to_rgb(SimpleNamespace(format="jpeg", data=data))
    assert full.shape[:2] == size
    area = cv2.resize(full, want[::-1], interpolation=cv2.INTER_AREA)
    assert np.abs(out.astype(int) - area.astype(int)).mean() < 2.0
    png = encode_compressed_fields(rgb, "png")["data"]  # only JPEGs are decoded smaller
    assert compressed_to_rgb(SimpleNamespace(format="png", data=png), min_size).shape[:2] == size


def test_jpeg_keeps_colours():
    red = np.zeros((16, 16, 3), np.uint8)
    red[..., 0] = 220
    out = msg_to_rgb(SimpleNamespace(format="jpeg", data=encode_compressed_fields(red)["data"]))
    assert out[..., 0].min() > 200 and out[..., 2].max() < 20  # not swapped to blue


def test_image_from_cv2_bgr_jpeg_decodes_to_rgb():
    # A JPEG written by another tool from a BGR OpenCV image (what compressed_image_transport does).
    bgr = np.zeros((8, 8, 3), np.uint8)
    bgr[..., 0] = 230  # blue
    ok, buf = cv2.imencode(".jpg", bgr)
    assert ok
    out = compressed_to_rgb(SimpleNamespace(format="bgr8; jpeg compressed bgr8", data=buf.tobytes()))
    assert out[..., 2].min() > 200 and out[..., 0].max() < 30


# --- errors ---------------------------------------------------------------------------------------


def test_unknown_encoding_lists_the_supported_ones():
    with pytest.raises(
        ConversionError, match=r"'32FC1' is not supported; supported: rgb8, bgr8.*bayer_grbg8"
    ):
        image_to_rgb(image(b"\x00" * 100, encoding="32FC1"))
    assert "yuv422_yuy2" in SUPPORTED_ENCODINGS


def test_short_data_is_rejected():
    with pytest.raises(ConversionError, match=r"Image.data has 100 bytes, expected step x height = 192 x 48"):
        image_to_rgb(image(b"\x00" * 100))


def test_small_step_is_rejected():
    with pytest.raises(ConversionError, match=r"Image.step 100 is smaller than width 64 x 3 bytes per pixel"):
        image_to_rgb(image(b"\x00" * 100 * H, step=100))


@pytest.mark.parametrize("height,width", [(0, W), (H, 0)])
def test_zero_size_is_rejected(height, width):
    with pytest.raises(ConversionError, match="zero or negative size"):
        image_to_rgb(image(b"", height=height, width=width, step=0))


def test_odd_width_yuv_is_rejected():
    msg = SimpleNamespace(height=2, width=3, encoding="yuv422", is_bigendian=0, step=6, data=b"\x80" * 12)
    with pytest.raises(ConversionError, match="odd"):
        image_to_rgb(msg)
    with pytest.raises(ConversionError, match="odd"):
        encode_image_fields(np.zeros((2, 3, 3), np.uint8), "yuv422")


def test_bad_data_types_are_rejected():
    with pytest.raises(ConversionError, match="expected uint8"):
        image_to_rgb(image(np.zeros(H * W * 3, np.float32)))
    with pytest.raises(ConversionError, match="bytes-like"):
        image_to_rgb(image(None))
    with pytest.raises(ConversionError, match="not a sequence of bytes"):
        image_to_rgb(image([1000] * (H * W * 3)))
    # a plain list of byte values is fine
    assert image_to_rgb(image([7] * (2 * 2 * 3), height=2, width=2)).tolist() == [[[7, 7, 7]] * 2] * 2


def test_not_a_message_is_rejected():
    with pytest.raises(ConversionError, match="has no field step"):
        image_to_rgb(SimpleNamespace(height=1, width=1, encoding="rgb8", is_bigendian=0, data=b"\x00" * 3))
    with pytest.raises(ConversionError, match="neither a sensor_msgs/Image nor a CompressedImage"):
        msg_to_rgb(np.zeros((2, 2, 3), np.uint8))


def test_undecodable_compressed_data_is_rejected():
    with pytest.raises(ConversionError, match="not a decodable jpeg"):
        compressed_to_rgb(SimpleNamespace(format="jpeg", data=b"\xff\xd8\xff\xe0 not really a jpeg"))
    with pytest.raises(ConversionError, match="empty"):
        compressed_to_rgb(SimpleNamespace(format="png", data=b""))
    with pytest.raises(ConversionError, match="neither JPEG nor PNG"):
        compressed_to_rgb(SimpleNamespace(format="", data=b"GIF89a..."))


@pytest.mark.parametrize("fmt", ["tiff", "h264", "16UC1; compressedDepth png"])
def test_unsupported_compressed_format_is_rejected(fmt):
    data = encode_compressed_fields(smooth_rgb(), "png")["data"]
    with pytest.raises(ConversionError, match="not supported|depth"):
        compressed_to_rgb(SimpleNamespace(format=fmt, data=data))
    with pytest.raises(ConversionError, match="not supported"):
        encode_compressed_fields(smooth_rgb(), "webp")


@pytest.mark.parametrize(
    "array_,encoding",
    [
        (np.zeros((4, 4), np.uint8), "rgb8"),  # grey given for a colour encoding
        (np.zeros((4, 4, 3), np.float32), "rgb8"),  # wrong dtype
        (np.zeros((4, 4, 4), np.uint8), "bgr8"),  # alpha only for rgba8/bgra8
        (np.zeros((4, 4, 3), np.uint8), "mono8"),  # colour given for mono
        (np.zeros((4, 4), np.uint8), "mono16"),  # mono16 needs uint16
        ([[1, 2], [3, 4]], "mono8"),  # not an array
        (np.zeros((0, 4, 3), np.uint8), "rgb8"),  # empty
    ],
)
def test_encoder_rejects_wrong_arrays(array_, encoding):
    with pytest.raises(ConversionError, match="expected a|empty"):
        encode_image_fields(array_, encoding)


def test_encoder_and_jpeg_quality_errors():
    with pytest.raises(ConversionError, match="not supported"):
        encode_image_fields(smooth_rgb(), "nv12")
    with pytest.raises(ConversionError, match="quality"):
        encode_compressed_fields(smooth_rgb(), "jpeg", quality=101)
    with pytest.raises(ConversionError, match=r"\(H, W, 3\)"):
        encode_compressed_fields(smooth_rgb()[..., 0], "png")


def test_every_supported_encoding_round_trips():
    rgb = smooth_rgb()
    for encoding in SUPPORTED_ENCODINGS:
        src = rgb
        if encoding == "mono8":
            src = rgb[..., 1]
        elif encoding == "mono16":
            src = rgb[..., 1].astype(np.uint16) << 8
        out = image_to_rgb(SimpleNamespace(**encode_image_fields(src, encoding)))
        check_rgb(out)
        expected = np.repeat(rgb[..., 1:2], 3, axis=2) if encoding.startswith("mono") else rgb
        assert np.abs(out.astype(int) - expected.astype(int))[2:-2, 2:-2].max() <= 4, encoding


def test_set_opencv_threads_sets_one_and_restores_the_default():
    default = cv2.getNumThreads()
    try:
        assert set_opencv_threads(1) == 1 == cv2.getNumThreads()
        assert set_opencv_threads(0) == default  # 0: OpenCV's own default again
        with pytest.raises(ValueError, match="threads must be >= 0"):
            set_opencv_threads(-1)
        assert cv2.getNumThreads() == default  # a refused value changes nothing
    finally:
        cv2.setNumThreads(-1)
