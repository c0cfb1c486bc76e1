"""Server-side SVG picture of a concept's neighbourhood: no JavaScript, works in every browser.

Layout: the concept in the centre, the sections mentioning it on an inner ring, the concepts
co-mentioned with it on an outer ring, each placed near the sections it shares (ordered by
the mean angle of those sections, so that edges cross little). Deterministic: same data,
same picture.
"""
from __future__ import annotations

import math
from collections.abc import Callable

from markupsafe import escape

WIDTH, HEIGHT = 960, 640
CX, CY = WIDTH / 2, HEIGHT / 2
INNER, OUTER = 170, 300  # ring radii (x); y radii are squashed to fit the wide frame
COLOURS = {  # fill, and a darker stroke; text stays dark on light fills (contrast)
    "center": ("#ffd166", "#8a6100"),
    "section": ("#e8eef5", "#41566b"),
    "actor": ("#cfe3ff", "#0b4f9c"),
    "tool": ("#eadcff", "#5b2a9e"),
    "territory": ("#d5f2da", "#1d6b2c"),
    "population": ("#ffe2c7", "#8f4a00"),
    "programme": ("#d2f1f0", "#0d6660"),
}


def neighbourhood_svg(graph: dict, link: Callable[[dict], str], title: str = "Voisinage") -> str:
    """The SVG markup of `graph` ({"nodes", "edges"} from kg.browse.neighbourhood); each node
    is a link to `link(node)`, with its full label as tooltip."""
    nodes = graph["nodes"]
    if not nodes:
        return ""
    centre, sections = nodes[0], [n for n in nodes if n["group"] == "section"]
    concepts = [n for n in nodes if n["group"] == "concept"]
    pos = {centre["id"]: (CX, CY)}
    angle = {}
    for i, node in enumerate(sections):
        a = -math.pi / 2 + 2 * math.pi * i / max(1, len(sections))
        angle[node["id"]] = a
        pos[node["id"]] = (CX + INNER * math.cos(a), CY + INNER * 0.8 * math.sin(a))
    linked = {}
    for e in graph["edges"]:
        if e["source"] in angle and e["target"] != centre["id"]:
            linked.setdefault(e["target"], []).append(angle[e["source"]])
    concepts.sort(key=lambda n: (_mean_angle(linked.get(n["id"], [0.0])), n["label"]))
    offset = _mean_angle(linked.get(concepts[0]["id"], [0.0])) if concepts else 0.0
    for i, node in enumerate(concepts):
        a = offset + 2 * math.pi * i / len(concepts)
        radius = OUTER * (1.0 if i % 2 == 0 else 0.84)  # stagger neighbours so labels overlap less
        pos[node["id"]] = (CX + radius * 1.22 * math.cos(a), CY + radius * 0.92 * math.sin(a))

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
             f'class="neighbourhood" role="img" aria-labelledby="svg-title">'
             f'<title id="svg-title">{escape(title)}</title>']
    parts.append('<g class="edges" stroke="#8795a3" stroke-width="1.5" fill="none">')
    for e in graph["edges"]:
        if e["source"] in pos and e["target"] in pos:
            (x1, y1), (x2, y2) = pos[e["source"]], pos[e["target"]]
            dash = "" if e["source"] == centre["id"] else ' stroke-dasharray="4 3"'
            parts.append(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}"{dash}/>')
    parts.append("</g>")
    for node in [*sections, *concepts, centre]:
        parts.append(_node(node, *pos[node["id"]], link(node)))
    parts.append("</svg>")
    return "".join(parts)


def _mean_angle(angles: list[float]) -> float:
    return math.atan2(sum(map(math.sin, angles)), sum(map(math.cos, angles)))


def _node(node: dict, x: float, y: float, href: str) -> str:
    group = node["group"]
    fill, stroke = COLOURS.get(group if group != "concept" else node.get("type") or "", COLOURS["section"])
    label = _short(node["label"], {"center": 44, "section": 36}.get(group, 26))
    height = 34 if group == "center" else 26
    size = 15 if group == "center" else 12.5
    width = len(label) * size * (0.62 if group == "center" else 0.58) + 22  # ~glyph width of sans-serif
    weight = "700" if group == "center" else "400"
    shape = (f'<rect x="{x - width / 2:.1f}" y="{y - height / 2:.1f}" width="{width:.1f}" '
             f'height="{height}" rx="{height / 2 if group != "section" else 4}" fill="{fill}" '
             f'stroke="{stroke}" stroke-width="1.5"/>')
    return (f'<a href="{escape(href)}" class="node node-{escape(group)}">'
            f'<title>{escape(node["label"])}</title>{shape}'
            f'<text x="{x:.1f}" y="{y + 4.5:.1f}" text-anchor="middle" font-size="{size}" '
            f'font-weight="{weight}" fill="#1b1f24">{escape(label)}</text></a>')


def _short(text: str, limit: int) -> str:
    """The label cut at a word boundary to fit a node.

    >>> _short("Améliorer les parcours de santé et la qualité", 20)
    'Améliorer les…'
    """
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0]
    return cut + "…"
