"""Stamp arithmetic: round trips between Time, nanoseconds and seconds; header stamps from CDR bytes."""

from __future__ import annotations

import struct
from types import SimpleNamespace

import numpy as np
import pytest

from accident_anticipation_ros.stamps import (
    NS_PER_S,
    cdr_header_stamp_ns,
    ns_to_seconds,
    seconds_to_ns,
    split_ns,
    to_ns,
    to_seconds,
)

STAMPS_NS = [0, 1, NS_PER_S - 1, NS_PER_S, 1_700_000_123_456_789_000, 2**31 * NS_PER_S - 1]


@pytest.mark.parametrize("ns", STAMPS_NS)
def test_ns_and_sec_nanosec_round_trip(ns):
    sec, nanosec = split_ns(ns)
    assert 0 <= nanosec < NS_PER_S and sec * NS_PER_S + nanosec == ns
    assert to_ns(SimpleNamespace(sec=sec, nanosec=nanosec)) == ns


def test_seconds_round_trip_to_the_nanosecond():
    rng = np.random.default_rng(0)
    for ns in [*STAMPS_NS[:4], *rng.integers(0, 10**6 * NS_PER_S, 200).tolist()]:
        assert seconds_to_ns(ns_to_seconds(ns)) == ns  # below ~1e6 s a double holds every nanosecond
    assert seconds_to_ns(3) == 3 * NS_PER_S and seconds_to_ns(0.1) == 100_000_000
    assert split_ns(seconds_to_ns(0.3)) == (0, 300_000_000)  # not 299999999 from truncation


def test_to_seconds_is_sec_plus_nanosec():
    """The float the session gets, bit for bit what the node and replay computed before."""
    rng = np.random.default_rng(1)
    for sec, nanosec in zip(rng.integers(0, 2**31, 100), rng.integers(0, NS_PER_S, 100), strict=True):
        stamp = SimpleNamespace(sec=int(sec), nanosec=int(nanosec))
        assert to_seconds(stamp) == int(sec) + int(nanosec) * 1e-9


def test_header_stamp_from_serialized_messages():
    from accident_anticipation_ros.bag.types import get_package_typestore

    store = get_package_typestore()
    types = store.types
    header = types["std_msgs/msg/Header"](
        stamp=types["builtin_interfaces/msg/Time"](sec=1_700_000_123, nanosec=456_789_000), frame_id="cam"
    )
    msg = types["sensor_msgs/msg/CompressedImage"](header=header, format="jpeg", data=np.zeros(3, np.uint8))
    cdr = bytes(store.serialize_cdr(msg, "sensor_msgs/msg/CompressedImage"))
    assert cdr_header_stamp_ns(cdr) == 1_700_000_123_456_789_000
    big_endian = b"\x00\x00\x00\x00" + struct.pack(">iI", 12, 345)  # encapsulation 0x0000: CDR_BE
    assert cdr_header_stamp_ns(big_endian) == 12 * NS_PER_S + 345
    with pytest.raises(ValueError, match="at least 12 bytes"):
        cdr_header_stamp_ns(cdr[:11])
