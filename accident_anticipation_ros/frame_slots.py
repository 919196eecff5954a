"""Newest-frame-wins hand-over from subscription callbacks to one inference worker (ROS-free).

Callbacks never block on inference: ``put`` replaces a camera's waiting frame (counting the one it
replaces as dropped) and returns at once; the worker ``take``s the camera whose frame has waited
longest, so several cameras share one worker fairly, or ``take_all`` every camera with a frame
waiting (a batched model call). Like camera_calibration's BufferQueue, per camera.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any


@dataclass
class _Slot:
    item: Any = None
    since: float = 0.0
    full: bool = False
    dropped: int = 0


class LatestFrameSlots:
    """One slot per camera holding only the newest unprocessed frame."""

    def __init__(self, cameras: list[str]) -> None:
        self._slots = {name: _Slot() for name in cameras}
        self._cond = threading.Condition()
        self._closed = False

    def put(self, camera: str, item: Any) -> bool:
        """Store ``item`` as ``camera``'s newest frame; return True if an unprocessed frame was dropped."""
        with self._cond:
            slot = self._slots[camera]
            replaced = slot.full
            if replaced:
                slot.dropped += 1
            else:
                slot.since = time.monotonic()
            slot.item, slot.full = item, True
            self._cond.notify()
            return replaced

    def take(self, timeout: float | None = None) -> tuple[str, Any, int] | None:
        """Wait for a frame; return ``(camera, item, dropped_since_last_take)`` or None on timeout/close."""
        taken = self.take_waiting(timeout, every=False)
        return taken[0] if taken else None

    def take_all(self, timeout: float | None = None) -> list[tuple[str, Any, int]] | None:
        """Wait for a frame; return every waiting ``(camera, item, dropped_since_last_take)``, the
        longest-waiting first, or None on timeout/close."""
        return self.take_waiting(timeout, every=True)

    def take_waiting(self, timeout: float | None, every: bool) -> list[tuple[str, Any, int]] | None:
        """Wait for a frame; return the longest-waiting camera's ``(camera, item, dropped)`` in a list
        (``every``: all waiting frames, longest-waiting first), or None on timeout/close."""
        with self._cond:
            if not self._cond.wait_for(
                lambda: self._closed or any(s.full for s in self._slots.values()), timeout
            ):
                return None
            if self._closed:
                return None
            full = sorted(((n, s) for n, s in self._slots.items() if s.full), key=lambda ns: ns[1].since)
            full = full if every else full[:1]
            taken = [(name, slot.item, slot.dropped) for name, slot in full]
            for _, slot in full:
                slot.item, slot.full, slot.dropped = None, False, 0
            return taken

    def clear(self) -> dict[str, int]:
        """Discard waiting frames (on deactivate); return how many each camera lost."""
        with self._cond:
            discarded = {name: int(slot.full) for name, slot in self._slots.items()}
            for slot in self._slots.values():
                slot.item, slot.full, slot.dropped = None, False, 0
            return discarded

    def close(self) -> None:
        """Wake the worker for good; later ``take`` calls return None at once."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
