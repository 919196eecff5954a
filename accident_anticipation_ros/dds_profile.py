"""The shipped Fast DDS profile for large camera frames, and the rule that makes it the default.

Fast DDS's shared-memory segments default to 512 KiB: a larger message (640x480 rgb8 is 922 KB,
1280x720 2.8 MB) falls back to UDP fragments, which are lost under load. ``config/fastdds_large_images.xml``
gives shared memory 8 MiB segments. The segment belongs to the *sending* participant, so every process
of the camera path needs it (driver, bag player, replay, this node for its overlay).

Fast DDS reads the profile file named by an environment variable when a process creates its first
participant: ``FASTRTPS_DEFAULT_PROFILES_FILE`` (Fast DDS 2.x: Humble, Jazzy; the only one the Jazzy
wheels' libfastrtps 2.14 reads) and ``FASTDDS_DEFAULT_PROFILES_FILE`` (Fast DDS 3.x: Kilted).
:func:`apply_default_profile` sets both to the shipped profile unless the user set either (even to
an empty value, which keeps Fast DDS's own defaults). The node's entry point, the
``accident-anticipation`` command and the launch files apply it; other middlewares ignore it.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from pathlib import Path

from accident_anticipation_ros.package_files import PackageFileError, find_installed

PROFILE_VARS = ("FASTRTPS_DEFAULT_PROFILES_FILE", "FASTDDS_DEFAULT_PROFILES_FILE")
LARGE_IMAGE_PROFILE = "share/config/fastdds_large_images.xml"


def large_image_profile() -> Path:
    """The installed ``config/fastdds_large_images.xml`` (PackageFileError if it is nowhere)."""
    return find_installed(LARGE_IMAGE_PROFILE, Path.is_file)


def user_profile(env: MutableMapping[str, str]) -> str | None:
    """The profile the user chose in ``env`` (``""``: Fast DDS defaults), or None if they chose none."""
    for var in PROFILE_VARS:
        if var in env:
            return env[var]
    return None


def apply_default_profile(env: MutableMapping[str, str]) -> str:
    """Point both variables of ``env`` at the shipped profile unless the user set one; say what holds.

    Call it on ``os.environ`` before the process creates a participant, or on a child's environment.

    Returns:
        One line for a log: the profile now in effect and whose choice it is.
    """
    chosen = user_profile(env)
    if chosen is not None:
        return f"Fast DDS profile: {chosen or 'Fast DDS defaults'} (set by the environment)"
    try:
        path = str(large_image_profile())
    except PackageFileError:
        return f"Fast DDS profile: Fast DDS defaults ({LARGE_IMAGE_PROFILE} is not installed)"
    for var in PROFILE_VARS:
        env[var] = path
    return f"Fast DDS profile: {path} (the package default for large images)"


def without_profile(env: MutableMapping[str, str]) -> MutableMapping[str, str]:
    """``env`` with both variables set empty: Fast DDS's own defaults, whatever the default rule says."""
    for var in PROFILE_VARS:
        env[var] = ""
    return env
