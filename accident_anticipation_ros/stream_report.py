"""The streaming report (``evaluate --stream``, ``evaluate-bag --stream``, the benchmark) as text lines."""

from __future__ import annotations

from accident_anticipation_ros.stream_metrics import WindowSpec


def _pct(x: float) -> str:
    return f"{100 * x:.1f} %"


def format_report(report: dict, spec: WindowSpec | None = None) -> str:
    """The report of :func:`evaluate_drive_stream` or :func:`evaluate_clips_stream` as text lines."""
    spec = spec or WindowSpec()
    lines = []
    if "windows" in report:
        w = report["windows"]
        lines.append(
            f"{report['seconds'] / 60:.1f} min ({report['frames']} frames, {report['steps']} steps), "
            f"{report['accidents']} accidents, {report['resets']} state resets"
        )
        lines.append(
            f"windows ({spec.before:g} s before + {spec.after:g} s after toa / a near miss's critical frame; safe "
            f"windows of the same length >= {spec.margin:g} s from any event, evenly spaced, to a positive share "
            f"of {spec.positive_share:g}): {w['accident']} accident, {w['near_miss']} near miss, {w['safe']} safe, "
            f"{report['windows_skipped']} skipped"
        )
    else:
        lines.append(
            f"{report['clips']} clips back to back ({report['accidents']} accidents; crash aftermath "
            f"{'kept' if report['aftermath'] else 'left out'}), {report['resets']} state resets"
        )
    rows = [("streaming (state carried in)", report["stream"])]
    if "fresh" in report:
        rows.append(("per clip (fresh state)", report["fresh"]))
    lines.append(f"  {'':<30} {'AP':>7} {'ap_maxprec':>10} {'mTTA':>7} {'TTA@R80':>8}")
    for name, m in rows:
        lines.append(f"  {name:<30} {_pct(m['ap']):>7} {_pct(m['ap_maxprec']):>10} "
                     f"{m['mtta']:>5.2f} s {m['tta_r80']:>6.2f} s")  # fmt: skip
    if "alerts" in report:
        a = report["alerts"]
        share = f"; alert on during {_pct(a['alerting_share'])} of it" if "alerting_share" in a else ""
        lines.append(f"alerts per hour of safe driving: {a['alerts_per_hour']:.1f} ({a['alerts']} in "
                     f"{a['safe_hours']:.2f} h{share})")  # fmt: skip
    shares = ", ".join(f">= {k} s {_pct(v)}" for k, v in report["lead_share"].items())
    lines.append(
        f"accidents alerted before toa (onset <= {report.get('horizon_s', 5.0):g} s before toa): {shares}"
    )
    if "map_truth" in report:
        r = report["map_truth"]
        lines.append(f"risk map top cell on the colliding road user, last 1 s before toa: "
                     f"{_pct(r['top_cell_accuracy'])} of {r['frames']} frames (chance {_pct(r['chance'])}, "
                     f"{r['cells']} cells)")  # fmt: skip
    return "\n".join(lines)
