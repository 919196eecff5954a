"""The large-image Fast DDS profile is the default unless the environment names one."""

from __future__ import annotations

import os
import subprocess
import sys

from accident_anticipation_ros.dds_profile import (
    PROFILE_VARS,
    apply_default_profile,
    large_image_profile,
    user_profile,
    without_profile,
)


def test_default_unless_the_user_set_one():
    env: dict[str, str] = {}
    line = apply_default_profile(env)
    assert env == dict.fromkeys(PROFILE_VARS, str(large_image_profile()))
    assert "package default" in line and large_image_profile().name == "fastdds_large_images.xml"
    mine = {"FASTDDS_DEFAULT_PROFILES_FILE": "/my.xml"}
    assert "set by the environment" in apply_default_profile(mine) and mine == {
        "FASTDDS_DEFAULT_PROFILES_FILE": "/my.xml"
    }
    off = without_profile({})
    assert user_profile(off) == "" and "Fast DDS defaults" in apply_default_profile(off)
    assert off == dict.fromkeys(PROFILE_VARS, "")


def test_the_profile_is_valid_xml_with_8_mib_shared_memory_segments():
    import xml.etree.ElementTree as ET

    root = ET.parse(large_image_profile()).getroot()
    ns = {"p": "http://www.eprosima.com/XMLSchemas/fastRTPS_Profiles"}
    sizes = [int(e.text) for e in root.iterfind(".//p:transport_descriptor/p:segment_size", ns)]
    assert sizes == [8 * 1024 * 1024]
    assert root.find(".//p:participant[@is_default_profile='true']", ns) is not None


def test_accident_anticipation_applies_it_before_a_subcommand_runs():
    probe = (
        "import contextlib, os\n"
        "from accident_anticipation_ros.tools import cli\n"
        "with contextlib.suppress(SystemExit):\n"
        "    cli.main(['render', '--help'])\n"
        "print(os.environ.get('FASTRTPS_DEFAULT_PROFILES_FILE'))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in PROFILE_VARS}
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == str(large_image_profile())
