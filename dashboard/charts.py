"""Small inline SVG charts computed on the server: this module only does
the geometry; templates/dashboard/live/overview.html draws it (so every label
is escaped by the template engine). No script, no external asset."""

from dataclasses import dataclass, field


@dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    value: int
    series: str
    css: str


@dataclass
class Group:
    label: str
    x: float
    bars: list = field(default_factory=list)
    title: str = ""


@dataclass
class BarChart:
    title: str
    width: int
    height: int
    groups: list
    max_value: int
    legend: list
    baseline: float
    ticks: list


def grouped_bars(title: str, rows: list[dict], label_key: str, series: list[tuple[str, str, str]],
                 *, width: int = 640, height: int = 180, label=str) -> BarChart:
    """`rows`: one dict per group; `series`: (key, name, css class) bars in
    each group, side by side."""
    top, bottom, left = 10, 28, 34
    plot_h = height - top - bottom
    max_value = max([1] + [int(r.get(k) or 0) for r in rows for k, _, _ in series])
    n = max(1, len(rows))
    slot = (width - left) / n
    bar_w = max(2.0, min(22.0, (slot - 6) / max(1, len(series))))
    groups = []
    for i, row in enumerate(rows):
        gx = left + i * slot
        group = Group(label=label(row[label_key]), x=round(gx + slot / 2, 1))
        parts = []
        for j, (key, name, css) in enumerate(series):
            value = int(row.get(key) or 0)
            h = plot_h * value / max_value
            x = gx + (slot - bar_w * len(series)) / 2 + j * bar_w
            group.bars.append(Bar(round(x, 1), round(top + plot_h - h, 1), round(bar_w - 1, 1),
                                  round(h, 1), value, name, css))
            parts.append(f"{name}: {value}")
        group.title = f"{group.label}: " + ", ".join(parts)
        groups.append(group)
    ticks = [{"y": round(top + plot_h - plot_h * f, 1), "value": round(max_value * f)} for f in (0, 0.5, 1)]
    return BarChart(
        title=title, width=width, height=height, groups=groups, max_value=max_value,
        legend=[{"name": n, "css": c} for _, n, c in series], baseline=top + plot_h, ticks=ticks,
    )


CHANNEL_PALETTE = 8  # live.css defines .series-ch0 ... .series-ch7


def channel_series(channels: list[str]) -> list[tuple[str, str, str]]:
    """One bar series per channel, each with its own colour class."""
    return [(c, c, f"series-ch{i % CHANNEL_PALETTE}") for i, c in enumerate(channels)]


def percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"
