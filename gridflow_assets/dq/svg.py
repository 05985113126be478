"""Small inline-SVG charts for the DQ dashboard, generated in Python.

The dashboard must open on a machine without network access and be mailed as one file, so
no charting library or CDN: each function returns an ``<svg>`` string with text labels
(readable without colour) and ``<title>`` tooltips carrying exact numbers.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence

FONT = 12
LABEL_W = 150
# No greens: green means "passed" on this dashboard, a reason code must not look like it.
PALETTE = (
    "#0969da",
    "#bf3989",
    "#bc4c00",
    "#8250df",
    "#9a6700",
    "#1b7c83",
    "#a40e26",
    "#0550ae",
    "#6639ba",
    "#953800",
    "#57606a",
    "#e16f24",
)
STATE_COLORS = {
    "pass": "#2da44e",
    "warn": "#d4a72c",
    "error": "#cf222e",
    "missing": "#afb8c1",
    "n/a": "#f6f8fa",
}


def esc(value) -> str:
    return html.escape(str(value), quote=True)


def color_map(keys: Sequence[str]) -> dict[str, str]:
    """A stable colour per key (same reason code, same colour in every chart)."""
    return {k: PALETTE[i % len(PALETTE)] for i, k in enumerate(sorted(keys))}


def compact(n: float) -> str:
    """1234 → 1.2k: cell labels must fit a 40 px heat-map cell."""
    n = float(n)
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= limit:
            return f"{n / limit:.1f}".rstrip("0").rstrip(".") + suffix
    return f"{n:.0f}" if n == int(n) else f"{n:.2g}"


def _svg(width: float, height: float, body: list[str], label: str) -> str:
    return (
        f'<svg width="{width:.0f}" '
        f'height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" role="img" '
        f'aria-label="{esc(label)}" font-family="system-ui, sans-serif" '
        f'font-size="{FONT}">' + "".join(body) + "</svg>"
    )


def _text(
    x: float,
    y: float,
    s,
    anchor: str = "start",
    weight: str = "normal",
    fill: str = "#1f2328",
    size: int = FONT,
) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-weight="{weight}" '
        f'fill="{fill}" font-size="{size}">{esc(s)}</text>'
    )


def legend(colors: dict[str, str]) -> str:
    """An HTML legend (wraps with the page, unlike SVG text)."""
    items = "".join(
        f'<span class="key"><i style="background:{c}"></i>{esc(k)}</span>'
        for k, c in colors.items()
    )
    return f'<div class="legend">{items}</div>'


def heatmap(
    rows: Sequence[str],
    columns: Sequence[tuple[str, str]],
    cells: dict[tuple[str, tuple[str, str]], tuple[str, str, str]],
    label: str,
) -> str:
    """Rows × columns of coloured cells; ``columns`` are (group, name) pairs (utility,
    month) drawn under a group header; a cell is (state, text, tooltip)."""
    cell_w, cell_h, head = 58, 18, 42
    label_w = max((len(r) for r in rows), default=10) * 6.2 + 12
    width = label_w + cell_w * len(columns) + 10
    height = head + cell_h * len(rows) + 6
    body = []
    groups: dict[str, list[int]] = {}
    for i, (group, _) in enumerate(columns):
        groups.setdefault(group, []).append(i)
    x0 = label_w
    for group, idx in groups.items():
        gx = x0 + cell_w * idx[0]
        body.append(_text(gx + cell_w * len(idx) / 2, 14, group, "middle", "bold"))
        body.append(
            f'<line x1="{gx + 2}" x2="{gx + cell_w * len(idx) - 2}" y1="19" y2="19" '
            'stroke="#8c959f"/>'
        )
    for i, (_, name) in enumerate(columns):
        body.append(_text(x0 + cell_w * i + cell_w / 2, 34, name, "middle", size=11))
    for r, row in enumerate(rows):
        y = head + cell_h * r
        body.append(_text(x0 - 6, y + 13, row, "end", size=11))
        for i, col in enumerate(columns):
            state, txt, tip = cells.get((row, col), ("n/a", "", "table not in this partition"))
            fill = STATE_COLORS[state]
            ink = "#ffffff" if state in ("error",) else "#1f2328"
            body.append(
                f'<g class="cell {state}"><title>{esc(tip)}</title>'
                f'<rect x="{x0 + cell_w * i + 1}" y="{y + 1}" width="{cell_w - 2}" '
                f'height="{cell_h - 2}" rx="2" fill="{fill}"/>'
                + (
                    _text(x0 + cell_w * i + cell_w / 2, y + 13, txt, "middle", fill=ink, size=10)
                    if txt
                    else ""
                )
                + "</g>"
            )
    return _svg(width, height, body, label)


def hbars(
    rows: Sequence[tuple[str, Sequence[tuple[str, float]]]],
    colors: dict[str, str],
    label: str,
    *,
    max_value: float | None = None,
    fmt: Callable[[float], str] = compact,
    markers: dict[str, float] | None = None,
    width: int = 560,
    total_label: bool = True,
) -> str:
    """Horizontal bars, one per row, stacked by segment; the total is written at the end.

    ``max_value`` fixes the scale (1.0 for shares); ``markers`` draws a threshold per
    segment name as a dashed line (coverage targets).
    """
    bar_h, gap = 16, 6
    plot_w = width - LABEL_W - 70
    top = max((sum(v for _, v in segs) for _, segs in rows), default=0)
    scale = max_value or top or 1
    height = (bar_h + gap) * len(rows) + gap + 14
    body = [f'<line x1="{LABEL_W}" x2="{LABEL_W}" y1="0" y2="{height - 14}" stroke="#8c959f"/>']
    for r, (name, segs) in enumerate(rows):
        y = gap + (bar_h + gap) * r
        body.append(_text(LABEL_W - 6, y + 12, name, "end"))
        x = LABEL_W
        for seg, value in segs:
            w = plot_w * value / scale if scale else 0
            if value > 0:
                w = max(w, 1.5)  # a non-zero count stays visible next to a huge one
                body.append(
                    f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar_h}" '
                    f'fill="{colors[seg]}"><title>{esc(name)} — {esc(seg)}: '
                    f"{esc(fmt(value))}</title></rect>"
                )
            x += w
        total = sum(v for _, v in segs)
        if total_label:
            body.append(_text(x + 4, y + 12, fmt(total) if segs else "—"))
        for seg, limit in (markers or {}).items():
            if seg not in {name for name, _ in segs}:
                continue
            mx = LABEL_W + plot_w * limit / scale
            body.append(
                f'<line x1="{mx:.1f}" x2="{mx:.1f}" y1="{y - 2}" y2="{y + bar_h + 2}" '
                f'stroke="#1f2328" stroke-dasharray="3 2"><title>target {esc(seg)} '
                f"{esc(fmt(limit))}</title></line>"
            )
    ticks = [0, scale / 2, scale] if max_value else [0, scale]
    for t in ticks:
        tx = LABEL_W + plot_w * t / scale
        body.append(_text(tx, height - 2, fmt(t), "middle", fill="#57606a", size=10))
    return _svg(width, height, body, label)


def _nice_max(v: float) -> float:
    if v <= 0:
        return 1
    exp = 10 ** math.floor(math.log10(v))
    return next(m * exp for m in (1, 2, 2.5, 5, 10) if m * exp >= v)


def lines(
    x_labels: Sequence[str],
    series: dict[str, Sequence[float | None]],
    colors: dict[str, str],
    label: str,
    *,
    width: int = 360,
    height: int = 170,
    fmt: Callable[[float], str] = compact,
) -> str:
    """A line chart over months; points carry their value as a tooltip. A single month
    is drawn as dots (there is no line to draw yet)."""
    left, right, top, bottom = 48, 12, 10, 26
    pw, ph = width - left - right, height - top - bottom
    values = [v for vs in series.values() for v in vs if v is not None]
    ymax = _nice_max(max(values, default=0))
    n = len(x_labels)

    def xy(i: int, v: float) -> tuple[float, float]:
        x = left + (pw * (i + 0.5) / n if n else 0)
        return x, top + ph - ph * v / ymax

    body = []
    for f in (0, 0.5, 1):
        y = top + ph - ph * f
        body.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#d0d7de"/>'
        )
        body.append(_text(left - 4, y + 4, fmt(ymax * f), "end", fill="#57606a", size=10))
    for i, x_label in enumerate(x_labels):
        x, _ = xy(i, 0)
        body.append(_text(x, height - 8, x_label, "middle", fill="#57606a", size=10))
    for name, vs in series.items():
        pts = [(xy(i, v), v) for i, v in enumerate(vs) if v is not None]
        if len(pts) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for (x, y), _ in pts)
            body.append(
                f'<polyline points="{path}" fill="none" stroke="{colors[name]}" stroke-width="2"/>'
            )
        for ((x, y), v), xl in zip(
            pts, [x for x, v in zip(x_labels, vs, strict=True) if v is not None], strict=True
        ):
            body.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colors[name]}">'
                f"<title>{esc(name)} {esc(xl)}: {esc(fmt(v))}</title></circle>"
            )
    return _svg(width, height, body, label)
