"""docs/benchmarks.png: each gathered figure as a ratio to its baseline, with its goal.

Drawn with Pillow (already a dependency, for evidence thumbnails) rather than a plotting
library: a few labelled bars need no more.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

WIDTH, ROW, LEFT, RIGHT, TOP = 1100, 34, 520, 60, 60


def bars(figures: dict[str, Any]) -> list[tuple[str, float, float | None]]:
    """(label, ratio, goal or None) for every figure that has a baseline."""
    out: list[tuple[str, float, float | None]] = []
    api = figures.get("api") or {}
    for name, f in api.items():
        if name.startswith("bare"):
            continue
        plural = "es" if f["processes"] > 1 else ""
        bare = api.get(f"bare endpoint, {f['processes']} process{plural}")
        if bare and bare["held_per_s"]:
            out.append((f"{name}: held rate / bare", f["held_per_s"] / bare["held_per_s"], 0.4))
    scale = figures.get("scale_out") or {}
    if scale and "two_over_one" in scale:  # not measured with --end-to-end-only
        raw = scale["raw_consumer_events_per_s"]
        out.append(("status catch-up, 1 process / raw consumer",
                    scale["status_one_process_events_per_s"] / raw, None))  # fmt: skip
        out.append(("status catch-up, 2 processes / 1 process", scale["two_over_one"], 1.6))
    if scale:
        # The end-to-end time, scaled linearly to the city's 2,000,000 events, against
        # the 3-minute goal (above 1: faster than the goal).
        at_city = scale["end_to_end_s"] * 2_000_000 / scale["events"]
        out.append(("end to end at 2M events: 180 s / time", 180 / at_city, 1.0))
    return out


def draw(figures: dict[str, Any], path: Path) -> None:
    rows = bars(figures)
    height = TOP + ROW * max(len(rows), 1) + 40
    image = Image.new("RGB", (WIDTH, height), "white")
    pen = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=15)
    title = f"Liandong benchmarks, {figures.get('scale', '?')} scale, {figures.get('measured', '')}"
    pen.text((20, 18), title, fill="black", font=font)
    if not rows:
        pen.text((20, TOP), "no figures gathered", fill="black", font=font)
        image.save(path)
        return
    top = max(max(v for _, v, _ in rows), max(g or 0 for _, _, g in rows), 1.0) * 1.1
    scale = (WIDTH - LEFT - RIGHT) / top
    for i, (label, value, goal) in enumerate(rows):
        y = TOP + i * ROW
        pen.text((20, y + 8), label, fill="black", font=font)
        met = goal is None or value >= goal
        pen.rectangle(
            (LEFT, y + 6, LEFT + value * scale, y + ROW - 6), fill="#3b7dd8" if met else "#d8513b"
        )
        pen.text((LEFT + value * scale + 6, y + 8), f"{value:.2f}", fill="black", font=font)
        if goal is not None:
            x = LEFT + goal * scale
            pen.line((x, y + 2, x, y + ROW - 2), fill="black", width=2)
    pen.text(
        (20, height - 28),
        "bars: measured ratio (red below its goal); black tick: the goal",
        fill="#555555",
        font=font,
    )
    image.save(path)
