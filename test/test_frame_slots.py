"""Newest-frame-wins slots between callbacks and the worker."""

from __future__ import annotations

import threading
import time

from accident_anticipation_ros.frame_slots import LatestFrameSlots


def test_newest_frame_wins_and_drops_are_counted():
    slots = LatestFrameSlots(["a"])
    assert slots.put("a", 1) is False
    assert slots.put("a", 2) is True
    assert slots.put("a", 3) is True
    assert slots.take(timeout=0) == ("a", 3, 2)
    assert slots.take(timeout=0.01) is None


def test_cameras_are_served_in_order_of_waiting():
    slots = LatestFrameSlots(["a", "b"])
    slots.put("b", "b1")
    time.sleep(0.001)
    slots.put("a", "a1")
    slots.put("b", "b2")  # replaces b1 but b has waited longest
    assert slots.take(0)[:2] == ("b", "b2")
    assert slots.take(0)[:2] == ("a", "a1")


def test_take_blocks_until_a_frame_arrives_and_close_wakes_it():
    slots = LatestFrameSlots(["a"])
    got = []
    worker = threading.Thread(target=lambda: got.append(slots.take(timeout=5)))
    worker.start()
    time.sleep(0.05)
    slots.put("a", "x")
    worker.join(2)
    assert got == [("a", "x", 0)]
    worker = threading.Thread(target=lambda: got.append(slots.take(timeout=5)))
    worker.start()
    slots.close()
    worker.join(2)
    assert got[-1] is None and not worker.is_alive()


def test_clear_reports_discarded_frames_per_camera():
    slots = LatestFrameSlots(["a", "b"])
    slots.put("a", 1)
    assert slots.clear() == {"a": 1, "b": 0}
    assert slots.take(0) is None


def test_take_all_returns_every_waiting_camera_longest_waiting_first():
    slots = LatestFrameSlots(["a", "b", "c"])
    slots.put("b", "b1")
    time.sleep(0.001)
    slots.put("a", "a1")
    slots.put("b", "b2")  # replaces b1: one drop, and b has still waited longest
    assert slots.take_all(timeout=0) == [("b", "b2", 1), ("a", "a1", 0)]
    assert slots.take_all(timeout=0.01) is None
    slots.put("c", "c1")
    assert slots.take_all(timeout=0) == [("c", "c1", 0)]
    slots.close()
    assert slots.take_all(timeout=None) is None


def test_take_waiting_serves_one_or_every_camera_as_a_list():
    slots = LatestFrameSlots(["b", "a"])
    slots.put("a", "a1")
    time.sleep(0.001)
    slots.put("b", "b1")
    assert slots.take_waiting(timeout=0, every=False) == [("a", "a1", 0)]
    assert slots.take_waiting(timeout=0, every=True) == [("b", "b1", 0)]
    assert slots.take_waiting(timeout=0, every=True) is None
