"""Procedural synthetic dashcam benchmark (numpy + OpenCV, no downloads).

Clips of a perspective road seen from a dashcam: ego motion, curved lanes, vehicles, pedestrians and
cyclists, day/dusk/night lighting, rain and fog. Positive clips end in an accident at an exact time of
accident (``toa``, a frame index); hard negatives look dangerous but end safely. Far before ``toa`` a
single frame of a positive clip is distributed like a frame of a hard negative: the outcome is only
visible in the motion of the last seconds, which makes anticipation a temporal task.

Modules: ``config`` (presets, seeds), ``camera`` (projection), ``scenarios`` (what happens),
``world`` (road and scenery), ``draw`` / ``render`` (pixels), ``captions``, ``generator``
(one clip), ``storage`` (on-disk format), ``writer`` (a whole benchmark: ``accident-anticipation synth``), ``preview``,
``bench`` and ``separability``.

Continuous drives (minutes of one stream, the same scenarios at random times): ``drive``
(``generate_drive``), ``drive_config``, ``drive_world`` / ``drive_events`` / ``drive_traffic``
(planning a world), ``drive_render``, ``drive_storage`` (on-disk format) and ``footprint`` (contacts).
"""
