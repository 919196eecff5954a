"""A recorded overlay stream as a video (.mp4) or animation (.gif): the library of ``accident-anticipation render``."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def overlay_frames(
    bag: Path, camera: str | None = None, clip_id: str | None = None
) -> tuple[list[np.ndarray], float]:
    """The overlay images of ``bag`` (one camera, optionally one labelled clip) and their frame rate."""
    from accident_anticipation_ros.bag.errors import BagError
    from accident_anticipation_ros.bag.reader import bag_topics, open_bag, read_labels
    from accident_anticipation_ros.bag.types import get_package_typestore
    from accident_anticipation_ros.bag.writer import DEFAULT_LABEL_TOPIC
    from accident_anticipation_ros.conversions import msg_to_rgb
    from accident_anticipation_ros.stamps import NS_PER_S, to_ns

    store = get_package_typestore()
    with open_bag(bag) as reader:
        topics = bag_topics(reader)
        overlays = sorted(
            t for t, m in topics.items() if t.endswith("/overlay") and m.startswith("sensor_msgs/msg/")
        )
        if camera is not None:
            overlays = [t for t in overlays if t.split("/")[-2] == camera]
        if len(overlays) != 1:
            found = ", ".join(sorted(t for t in topics if t.endswith("/overlay"))) or "none"
            raise BagError(
                f"bag {bag}: need exactly one overlay topic{f' of camera {camera!r}' if camera else ''}; found: {found}"
            )
        start, end, fps = None, None, None
        labels = read_labels(reader, DEFAULT_LABEL_TOPIC) if DEFAULT_LABEL_TOPIC in topics else []
        if clip_id is not None:
            match = [lab for lab in labels if lab.clip_id == clip_id]
            if not match:
                raise BagError(f"bag {bag}: no clip {clip_id!r}; clips: {[lab.clip_id for lab in labels]}")
            stamps = match[0].frame_stamps_ns()
            start, end, fps = int(stamps[0]), int(stamps[-1]), match[0].fps
        elif labels:
            fps = labels[0].fps
        frames, stamps = [], []
        conns = [c for c in reader.connections if c.topic == overlays[0]]
        for conn, _, raw in reader.messages(connections=conns):
            msg = store.deserialize_cdr(raw, conn.msgtype)
            t = to_ns(msg.header.stamp)
            if start is not None and not start <= t <= end:
                continue
            frames.append(msg_to_rgb(msg))
            stamps.append(t)
    if not frames:
        raise BagError(f"bag {bag}: no overlay images{f' in clip {clip_id!r}' if clip_id else ''}")
    if fps is None:
        fps = NS_PER_S / float(np.median(np.diff(stamps))) if len(stamps) > 1 else 10.0
    return frames, float(fps)


def write_video(frames: list[np.ndarray], out: Path, fps: float) -> Path:
    """Write RGB frames as .mp4 (OpenCV, mp4v) or .gif (Pillow)."""
    import cv2

    out.parent.mkdir(parents=True, exist_ok=True)
    h, w = frames[0].shape[:2]
    frames = [f if f.shape[:2] == (h, w) else cv2.resize(f, (w, h)) for f in frames]
    if out.suffix.lower() == ".gif":
        from PIL import Image

        images = [Image.fromarray(f) for f in frames]
        images[0].save(out, save_all=True, append_images=images[1:], duration=int(1000 / fps), loop=0)
        return out
    if out.suffix.lower() not in (".mp4", ".avi"):
        raise ValueError(f"output {out}: use .mp4, .avi or .gif")
    fourcc = cv2.VideoWriter_fourcc(*("mp4v" if out.suffix.lower() == ".mp4" else "MJPG"))
    writer = cv2.VideoWriter(str(out), fourcc, fps, (w, h))
    if not writer.isOpened():
        raise ValueError(f"OpenCV cannot write {out} (codec {fourcc}); try .gif or .avi")
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    return out
