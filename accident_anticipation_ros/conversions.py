"""Camera messages <-> HxWx3 uint8 RGB arrays, without ROS (the job of cv_bridge's ``core.py``).

Decoding works on any object with the fields of ``sensor_msgs/Image`` (``height, width, encoding,
is_bigendian, step, data``) or ``sensor_msgs/CompressedImage`` (``format, data``): rclpy messages
(``data`` is ``array.array('B')`` or bytes) and messages deserialised by ``rosbags`` (``data`` is a
uint8 numpy array) alike. Encoding returns plain fields (:func:`encode_image_fields`,
:func:`encode_compressed_fields`) that the bag writer hands to ``rosbags``; only
:func:`rgb_to_image` and :func:`rgb_to_compressed` import the ``sensor_msgs`` message package.

Every bad input raises :class:`ConversionError` naming the field and what is wrong with it.
"""

from __future__ import annotations

import array
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np


class ConversionError(ValueError):
    """A message or array that cannot be converted; the message says which field is wrong."""


@dataclass(frozen=True)
class _Encoding:
    channels: int  # values per pixel in the message
    itemsize: int  # bytes per value
    to_rgb: str | None  # name of the OpenCV conversion code to RGB; None: handled in numpy

    @property
    def bytes_per_pixel(self) -> int:
        return self.channels * self.itemsize


# OpenCV names a Bayer pattern after the 2x2 block that starts at row 1, column 1 of the image, ROS
# after the one at row 0, column 0, so the letters are shifted by one pixel diagonally:
# ROS rggb (R at 0,0) == OpenCV "BG" (B at 1,1). cv_bridge maps bayer_rggb8 -> COLOR_BayerBG2BGR likewise.
_ENCODINGS: dict[str, _Encoding] = {
    "rgb8": _Encoding(3, 1, None),
    "bgr8": _Encoding(3, 1, "COLOR_BGR2RGB"),
    "rgba8": _Encoding(4, 1, "COLOR_RGBA2RGB"),
    "bgra8": _Encoding(4, 1, "COLOR_BGRA2RGB"),
    "mono8": _Encoding(1, 1, "COLOR_GRAY2RGB"),
    "mono16": _Encoding(1, 2, "COLOR_GRAY2RGB"),  # scaled to 8 bit by >> 8 first
    "yuv422": _Encoding(2, 1, "COLOR_YUV2RGB_UYVY"),  # ROS yuv422 is UYVY (U0 Y0 V0 Y1)
    "yuv422_yuy2": _Encoding(2, 1, "COLOR_YUV2RGB_YUYV"),  # YUYV (Y0 U0 Y1 V0)
    "bayer_rggb8": _Encoding(1, 1, "COLOR_BayerBG2RGB"),
    "bayer_bggr8": _Encoding(1, 1, "COLOR_BayerRG2RGB"),
    "bayer_gbrg8": _Encoding(1, 1, "COLOR_BayerGR2RGB"),
    "bayer_grbg8": _Encoding(1, 1, "COLOR_BayerGB2RGB"),
}
# Newer sensor_msgs/image_encodings names for the same byte layouts.
_ALIASES = {"uyvy": "yuv422", "yuyv": "yuv422_yuy2"}
SUPPORTED_ENCODINGS: tuple[str, ...] = tuple(_ENCODINGS) + tuple(_ALIASES)
SUPPORTED_COMPRESSED_FORMATS: tuple[str, ...] = ("jpeg", "png")

_FROM_RGB = {  # encoding -> OpenCV code from an (H, W, 3) RGB array
    "bgr8": "COLOR_RGB2BGR",
    "rgba8": "COLOR_RGB2RGBA",
    "bgra8": "COLOR_RGB2BGRA",
    "yuv422": "COLOR_RGB2YUV_UYVY",
    "yuv422_yuy2": "COLOR_RGB2YUV_YUYV",
}
_JPEG_MAGIC = b"\xff\xd8\xff"
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _cv2_code(name: str) -> int:
    code = getattr(cv2, name, None)
    if code is None:
        raise ConversionError(f"this OpenCV ({cv2.__version__}) has no {name}")
    return code


def _canonical_encoding(encoding: Any) -> str:
    name = str(encoding).strip().lower()
    name = _ALIASES.get(name, name)
    if name not in _ENCODINGS:
        raise ConversionError(
            f"Image.encoding {encoding!r} is not supported; supported: {', '.join(SUPPORTED_ENCODINGS)}"
        )
    return name


def _byte_view(data: Any, field: str) -> np.ndarray:
    """``data`` as a flat uint8 array, without a copy for buffers and uint8 arrays."""
    if isinstance(data, np.ndarray):
        if data.dtype != np.uint8:
            raise ConversionError(f"{field} is a numpy array of {data.dtype}, expected uint8")
        return data.reshape(-1)
    if isinstance(data, (str, type(None))):
        raise ConversionError(f"{field} must be bytes-like or a uint8 array, got {type(data).__name__}")
    try:
        return np.frombuffer(data, dtype=np.uint8)  # bytes, bytearray, array.array('B'), memoryview
    except (TypeError, ValueError):  # a plain sequence of ints
        try:
            return np.asarray(data, dtype=np.uint8).reshape(-1)
        except (TypeError, ValueError, OverflowError) as err:
            raise ConversionError(f"{field} is not a sequence of bytes: {err}") from None


def _fields(msg: Any, names: tuple[str, ...], kind: str) -> list[Any]:
    missing = [name for name in names if not hasattr(msg, name)]
    if missing:
        raise ConversionError(f"{type(msg).__name__} is not a {kind}: it has no field {', '.join(missing)}")
    return [getattr(msg, name) for name in names]


def image_to_rgb(msg: Any, *, copy: bool = False) -> np.ndarray:
    """Converts a ``sensor_msgs/Image`` (rclpy or rosbags) to an RGB array.

    Args:
        msg: Any object with the fields ``height, width, encoding, is_bigendian, step, data``.
        copy: Always return a fresh, writable array. Without it, an rgb8 image without row padding
            is returned as a read-only view of ``msg.data`` (no copy); every other case is a new array.

    Returns:
        (H, W, 3) uint8 C-contiguous RGB array.

    Raises:
        ConversionError: unknown encoding, zero size, step or data too short, odd width for YUV 4:2:2.
    """
    height, width, encoding, bigendian, step, data = _fields(
        msg, ("height", "width", "encoding", "is_bigendian", "step", "data"), "sensor_msgs/Image"
    )
    name = _canonical_encoding(encoding)
    enc = _ENCODINGS[name]
    height, width, step = int(height), int(width), int(step)
    if height <= 0 or width <= 0:
        raise ConversionError(f"Image has zero or negative size: height={height}, width={width}")
    if enc.channels == 2 and width % 2:
        raise ConversionError(f"Image.width {width} is odd; {name} packs pixels in pairs")
    row_bytes = width * enc.bytes_per_pixel
    if step < row_bytes:
        raise ConversionError(
            f"Image.step {step} is smaller than width {width} x {enc.bytes_per_pixel} bytes per pixel ({name})"
        )
    buf = _byte_view(data, "Image.data")
    if buf.size < step * height:
        raise ConversionError(
            f"Image.data has {buf.size} bytes, expected step x height = {step} x {height} = {step * height}"
        )
    rows = buf[: step * height].reshape(height, step)[:, :row_bytes]  # (H, W * bpp), a view

    if name == "rgb8":
        rgb = rows.reshape(height, width, 3)
        if copy:
            return rgb.copy()
        if not rgb.flags.c_contiguous:  # row padding
            return np.ascontiguousarray(rgb)
        rgb = rgb.view()
        rgb.flags.writeable = False  # shares memory with msg.data
        return rgb
    if name == "mono16":
        src = (rows.view(">u2" if bigendian else "<u2") >> 8).astype(np.uint8)  # (H, W)
    elif enc.channels == 1:
        src = rows  # (H, W)
    else:
        src = rows.reshape(height, width, enc.channels)
    return cv2.cvtColor(src, _cv2_code(enc.to_rgb))


def _compressed_kind(fmt: str, buf: np.ndarray) -> str:
    lowered = fmt.lower()
    if "compresseddepth" in lowered:
        raise ConversionError(
            f"CompressedImage.format {fmt!r} is a compressed depth image, not a camera image"
        )
    for kind, words in (("jpeg", ("jpeg", "jpg")), ("png", ("png",))):
        if any(word in lowered for word in words):
            return kind
    if not lowered.strip():  # some drivers leave format empty: trust the file signature
        head = buf[:8].tobytes()
        if head.startswith(_JPEG_MAGIC):
            return "jpeg"
        if head.startswith(_PNG_MAGIC):
            return "png"
        raise ConversionError(
            "CompressedImage.format is empty and CompressedImage.data is neither JPEG nor PNG"
        )
    raise ConversionError(
        f"CompressedImage.format {fmt!r} is not supported; supported: {', '.join(SUPPORTED_COMPRESSED_FORMATS)}"
    )


_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}  # start-of-frame markers (not DHT, JPG, DAC)
_JPEG_REDUCED = {8: cv2.IMREAD_REDUCED_COLOR_8, 4: cv2.IMREAD_REDUCED_COLOR_4, 2: cv2.IMREAD_REDUCED_COLOR_2}


def jpeg_size(buf: np.ndarray) -> tuple[int, int] | None:
    """``(height, width)`` from a JPEG's start-of-frame header, without decoding; None when the
    markers before it cannot be walked (not a JPEG, truncated)."""
    data = buf[: 1 << 16].tobytes()  # the headers before the frame's: a 64 KiB EXIF segment at most
    if not data.startswith(_JPEG_MAGIC):
        return None
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        length = int.from_bytes(data[i + 2 : i + 4], "big")
        if marker in _JPEG_SOF:
            if i + 9 > len(data):
                return None
            height, width = (
                int.from_bytes(data[i + 5 : i + 7], "big"),
                int.from_bytes(data[i + 7 : i + 9], "big"),
            )
            return (height, width) if height and width else None
        if marker == 0xDA or length < 2:  # scan data before any frame header
            return None
        i += 2 + length
    return None


def jpeg_scale(size: tuple[int, int], min_size: tuple[int, int]) -> int:
    """The largest libjpeg reduction (8, 4, 2; 1: none) that divides both sides of ``size`` and
    whose output still covers ``min_size`` ``(height, width)``. A side that ``k`` does not divide
    would end in a partial pixel (libjpeg rounds up) and stretch the frame."""
    (h, w), (min_h, min_w) = size, min_size
    for k in _JPEG_REDUCED:  # largest first
        if h % k == 0 and w % k == 0 and h // k >= min_h and w // k >= min_w:
            return k
    return 1


def compressed_to_rgb(msg: Any, min_size: tuple[int, int] | None = None) -> np.ndarray:
    """Decodes a ``sensor_msgs/CompressedImage`` (JPEG or PNG) to an (H, W, 3) uint8 RGB array.

    ``format`` may be a bare "jpeg"/"png" or image_transport's "rgb8; jpeg compressed bgr8"; an empty
    format is accepted when the data starts with a JPEG or PNG signature. With ``min_size``
    ``(height, width)`` a JPEG is decoded at the smallest libjpeg scale (1/2, 1/4, 1/8: the decoder
    averages in the DCT domain, skipping the full-size inverse transform) that still covers it.
    """
    fmt, data = _fields(msg, ("format", "data"), "sensor_msgs/CompressedImage")
    buf = _byte_view(data, "CompressedImage.data")
    kind = _compressed_kind(str(fmt), buf)
    if buf.size == 0:
        raise ConversionError(f"CompressedImage.data is empty (format {fmt!r})")
    flag = cv2.IMREAD_COLOR
    if min_size is not None and kind == "jpeg" and (size := jpeg_size(buf)) is not None:
        flag = _JPEG_REDUCED.get(jpeg_scale(size, min_size), cv2.IMREAD_COLOR)
    try:
        bgr = cv2.imdecode(buf, flag)
    except cv2.error as err:
        raise ConversionError(
            f"CompressedImage.data: OpenCV failed on {buf.size} bytes of {kind}: {err}"
        ) from None
    if bgr is None:
        raise ConversionError(f"CompressedImage.data: {buf.size} bytes are not a decodable {kind} image")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def msg_to_rgb(msg: Any, min_size: tuple[int, int] | None = None) -> np.ndarray:
    """Converts an Image or a CompressedImage, told apart by their ``encoding`` / ``format`` field;
    ``min_size``: a JPEG may be decoded smaller, down to that (:func:`compressed_to_rgb`)."""
    if hasattr(msg, "format"):
        return compressed_to_rgb(msg, min_size)
    if hasattr(msg, "encoding"):
        return image_to_rgb(msg)
    raise ConversionError(f"{type(msg).__name__} is neither a sensor_msgs/Image nor a CompressedImage")


def set_opencv_threads(threads: int) -> int:
    """Let OpenCV use ``threads`` threads (process-wide) for decoding, colour conversion and resizing;
    0 restores its default (one per core). Returns the count in effect.

    After each parallel call OpenCV's pool threads busy-wait for the next one, which a camera's frame
    interval never shortens: on 2 cores that cost ~2 ms of CPU per 720p JPEG frame, for no speed-up on
    frames this small. One thread keeps the work on the calling thread (the node's default)."""
    if threads < 0:
        raise ValueError(f"threads must be >= 0 (0 = OpenCV's default), got {threads}")
    cv2.setNumThreads(threads if threads > 0 else -1)  # OpenCV: < 0 resets to its default
    return cv2.getNumThreads()


def _check_array(rgb: Any, shapes: str, dtype: type, ok: bool) -> None:
    if not ok:
        got = f"{rgb.dtype} array of shape {rgb.shape}" if isinstance(rgb, np.ndarray) else type(rgb).__name__
        raise ConversionError(f"expected a {np.dtype(dtype).name} array of shape {shapes}, got {got}")


def _mosaic(rgb: np.ndarray, pattern: str) -> np.ndarray:
    """(H, W, 3) RGB -> (H, W) Bayer mosaic; ``pattern`` names the colours of the top-left 2x2 block."""
    out = np.empty(rgb.shape[:2], dtype=np.uint8)
    for (dy, dx), colour in zip(((0, 0), (0, 1), (1, 0), (1, 1)), pattern, strict=True):
        out[dy::2, dx::2] = rgb[dy::2, dx::2, "rgb".index(colour)]
    return out


def encode_image_fields(rgb: np.ndarray, encoding: str = "rgb8") -> dict[str, Any]:
    """The fields of a ``sensor_msgs/Image`` holding ``rgb`` in ``encoding``, without ROS.

    Args:
        rgb: (H, W, 3) uint8 RGB for colour, YUV and Bayer encodings ((H, W, 4) RGBA is also accepted
            for rgba8/bgra8; alpha is 255 otherwise); (H, W) or (H, W, 1) uint8 for mono8 and uint16
            for mono16.
        encoding: One of :data:`SUPPORTED_ENCODINGS`.

    Returns:
        dict(height, width, encoding, is_bigendian, step, data) with ``data`` a flat C-contiguous uint8
        array (rosbags takes it as is) and no row padding; mono16 is written little-endian.
    """
    name = _canonical_encoding(encoding)
    enc = _ENCODINGS[name]
    mono = name.startswith("mono")
    alpha = name in ("rgba8", "bgra8")
    dtype = np.uint16 if name == "mono16" else np.uint8
    ok = isinstance(rgb, np.ndarray) and rgb.dtype == dtype
    if mono:
        ok = ok and (rgb.ndim == 2 or (rgb.ndim == 3 and rgb.shape[2] == 1))
        _check_array(rgb, "(H, W) or (H, W, 1)", dtype, ok)
    else:
        ok = ok and rgb.ndim == 3 and rgb.shape[2] in ((3, 4) if alpha else (3,))
        _check_array(rgb, "(H, W, 3) or (H, W, 4)" if alpha else "(H, W, 3)", dtype, ok)
    if rgb.shape[0] == 0 or rgb.shape[1] == 0:
        raise ConversionError(f"cannot encode an empty image of shape {rgb.shape}")
    if enc.channels == 2 and rgb.shape[1] % 2:
        raise ConversionError(f"width {rgb.shape[1]} is odd; {name} packs pixels in pairs")
    if mono:
        pixels = rgb.reshape(rgb.shape[:2]).astype("<u2" if name == "mono16" else np.uint8, copy=False)
    elif name == "rgb8" or (name == "rgba8" and rgb.shape[2] == 4):
        pixels = rgb
    elif name.startswith("bayer_"):
        pixels = _mosaic(rgb, name[len("bayer_") : -1])
    elif rgb.shape[2] == 4:  # RGBA for bgra8
        pixels = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGBA2BGRA)
    else:
        pixels = cv2.cvtColor(np.ascontiguousarray(rgb), _cv2_code(_FROM_RGB[name]))
    height, width = pixels.shape[:2]
    data = np.ascontiguousarray(pixels).reshape(-1).view(np.uint8)
    return {
        "height": height,
        "width": width,
        "encoding": name,
        "is_bigendian": 0,
        "step": width * enc.bytes_per_pixel,
        "data": data,
    }


def encode_compressed_fields(rgb: np.ndarray, fmt: str = "jpeg", quality: int = 90) -> dict[str, Any]:
    """The fields of a ``sensor_msgs/CompressedImage`` holding (H, W, 3) uint8 ``rgb`` as JPEG or PNG.

    Returns:
        dict(format, data) with ``format`` "jpeg" or "png" and ``data`` a flat uint8 array.
    """
    kind = str(fmt).strip().lower()
    kind = "jpeg" if kind == "jpg" else kind
    if kind not in SUPPORTED_COMPRESSED_FORMATS:
        raise ConversionError(
            f"compressed format {fmt!r} is not supported; supported: {', '.join(SUPPORTED_COMPRESSED_FORMATS)}"
        )
    ok = isinstance(rgb, np.ndarray) and rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3
    _check_array(rgb, "(H, W, 3)", np.uint8, ok and rgb.shape[0] > 0 and rgb.shape[1] > 0)
    if not 0 <= quality <= 100:
        raise ConversionError(f"JPEG quality {quality} is outside [0, 100]")
    params = [cv2.IMWRITE_JPEG_QUALITY, int(quality)] if kind == "jpeg" else []
    done, encoded = cv2.imencode(
        f".{'jpg' if kind == 'jpeg' else 'png'}", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), params
    )
    if not done:
        raise ConversionError(f"OpenCV could not encode a {rgb.shape} image as {kind}")
    return {"format": kind, "data": encoded.reshape(-1)}


def _bytes_field(data: np.ndarray) -> array.array:
    out = array.array("B")  # rclpy's fast path for uint8[] fields: no per-element checks
    out.frombytes(memoryview(data))
    return out


def rgb_to_image(rgb: np.ndarray, header: Any = None, encoding: str = "rgb8") -> Any:
    """A ``sensor_msgs.msg.Image`` holding ``rgb`` (see :func:`encode_image_fields`); ``header`` is copied in."""
    from sensor_msgs.msg import Image  # message package only, not rclpy

    fields = encode_image_fields(rgb, encoding)
    msg = Image()
    if header is not None:
        msg.header = header
    msg.height, msg.width, msg.step = fields["height"], fields["width"], fields["step"]
    msg.encoding, msg.is_bigendian = fields["encoding"], fields["is_bigendian"]
    msg.data = _bytes_field(fields["data"])
    return msg


def rgb_to_compressed(rgb: np.ndarray, header: Any = None, fmt: str = "jpeg", quality: int = 90) -> Any:
    """A ``sensor_msgs.msg.CompressedImage`` holding ``rgb`` as JPEG or PNG; ``header`` is copied in."""
    from sensor_msgs.msg import CompressedImage

    fields = encode_compressed_fields(rgb, fmt, quality)
    msg = CompressedImage()
    if header is not None:
        msg.header = header
    msg.format = fields["format"]
    msg.data = _bytes_field(fields["data"])
    return msg
