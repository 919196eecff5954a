"""Which frames of a replayed bag got no AccidentRisk, and why (ROS-free; used by ``replay``).

A replay is only an evaluation if every bag frame is answered or listed: a frame lost silently
changes the metrics. ``missing_frames`` lists each unanswered frame with its clip, its stamp and the
reason: a conversion error (the node skips such frames and counts them as ``bad_frames``), a drop
the node counted (``frames_dropped`` of its next answer: a newer frame replaced it), or no answer at
all (lost in transport, or a non-finite model output, which the node counts in /diagnostics).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import asdict, dataclass

import numpy as np

DROPPED = "dropped by the node (counted in frames_dropped)"
NO_ANSWER = "no answer (lost in transport, or a non-finite model output: see /diagnostics)"
CONVERSION = "conversion error: "  # + the ConversionError's message
NON_FINITE = "non-finite model output (not published)"


@dataclass(frozen=True)
class MissingFrame:
    """A bag frame without an AccidentRisk: its clip (``""`` outside every labelled clip), stamp, reason."""

    clip: str
    stamp_ns: int
    reason: str

    def as_dict(self) -> dict:
        return asdict(self)


def clip_finder(labels: Sequence) -> Callable[[int], str]:
    """``stamp_ns -> clip_id`` over ``bag.reader.ClipLabel``s (``""`` when no clip holds the stamp)."""
    ordered = sorted(labels, key=lambda lab: lab.start_ns)
    starts = np.array([lab.start_ns for lab in ordered], dtype=np.int64)
    ends = [int(lab.frame_stamps_ns()[-1]) for lab in ordered]

    def clip_of(stamp_ns: int) -> str:
        k = int(np.searchsorted(starts, stamp_ns, side="right")) - 1
        return ordered[k].clip_id if k >= 0 and stamp_ns <= ends[k] else ""

    return clip_of


def missing_frames(
    stamps: Sequence[int],
    answers: dict[int, int],
    errors: dict[int, str],
    clip_of: Callable[[int], str] = lambda _: "",
    silent: Collection[int] = (),
) -> list[MissingFrame]:
    """Every frame of ``stamps`` (publish order) without an answer, with its reason.

    Args:
        stamps: Header stamps (ns) of the bag's frames in the order they were published.
        answers: ``{stamp_ns: frames_dropped}`` of the AccidentRisk messages received.
        errors: ``{index into stamps: reason}`` known without the node (e.g. a conversion error).
        clip_of: Clip of a stamp (see :func:`clip_finder`).
        silent: Indices into stamps that get no answer by design (decimated by the node's fps
            alignment): not missing.

    The node counts, in each answer's ``frames_dropped``, the frames a newer one replaced since its
    previous answer; that many unanswered frames before an answer are attributed to it (the node
    processes in order), the rest have no answer.
    """
    out: list[MissingFrame] = []
    gap: list[int] = []  # unanswered frames since the previous answer, without a known error

    def close_gap(dropped: int) -> None:
        for j, i in enumerate(gap):
            out.append(
                MissingFrame(clip_of(stamps[i]), int(stamps[i]), DROPPED if j < dropped else NO_ANSWER)
            )
        gap.clear()

    for i, stamp in enumerate(stamps):
        if stamp in answers:
            close_gap(answers[stamp])
        elif i in errors:
            out.append(MissingFrame(clip_of(stamp), int(stamp), errors[i]))
        elif i not in silent:
            gap.append(i)
    close_gap(0)
    return sorted(out, key=lambda m: m.stamp_ns)


def describe(missing: Sequence[MissingFrame], frames: int, limit: int = 20) -> str:
    """A few lines for a summary: how many frames are missing, per reason, and the first ``limit``."""
    if not missing:
        return f"every one of {frames} frames answered"
    reasons: dict[str, int] = {}
    for m in missing:
        key = CONVERSION.rstrip(": ") if m.reason.startswith(CONVERSION) else m.reason
        reasons[key] = reasons.get(key, 0) + 1
    lines = [f"{len(missing)} of {frames} frames without an answer:"]
    lines += [f"  {count} {reason}" for reason, count in sorted(reasons.items())]
    for m in missing[:limit]:
        lines.append(f"  clip {m.clip or '(none)'} stamp {m.stamp_ns} ns: {m.reason}")
    if len(missing) > limit:
        lines.append(f"  ... and {len(missing) - limit} more")
    return "\n".join(lines)
