"""Write retrieval/data/china_provinces.geojson: China's 34 province-level regions as shapes, offline.

The source is Apache ECharts 4.9.0's ``map/json/china.json`` (Apache License 2.0). Get it with

    cd /tmp && npm pack echarts@4.9.0        # writes echarts-4.9.0.tgz (10 MB)
    .venv/bin/python scripts/make_china_map.py /tmp/echarts-4.9.0.tgz

(the path may also be the extracted ``package/map/json/china.json``). The file is in ECharts'
compressed "UTF8Encoding" form: each ring is a string of characters, two a point, each the
zigzag-encoded difference from the previous point plus 64, in units of 1/1024 degree, starting
from the ring's ``encodeOffsets`` (ECharts' ``src/coord/geo/parseGeoJson.js``, ``decodePolygon``).
This script decodes it, names each feature as cpca spells it (the feature's ``id`` is the
province's adcode: 510000 -> 四川省, 710000 -> 台湾省), simplifies every ring (Douglas-Peucker,
``--tolerance`` degrees), rounds coordinates to 2 decimals, drops rings that vanish (islets),
winds exterior rings clockwise and holes counter-clockwise (what d3-geo, and so Vega, expects),
and writes a GeoJSON FeatureCollection with one property, ``name``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MEMBER = "package/map/json/china.json"
OUT = ROOT / "retrieval" / "data" / "china_provinces.geojson"
Ring = list[tuple[float, float]]


def read_source(path: Path) -> dict:
    """ECharts' china.json, from the npm tarball or the extracted file."""
    if path.name.endswith((".tgz", ".tar.gz")):
        with tarfile.open(path) as tar:
            member = tar.extractfile(MEMBER)
            if member is None:
                raise SystemExit(f"{path} has no {MEMBER}")
            return json.loads(member.read().decode("utf-8"))
    return json.loads(path.read_text(encoding="utf-8"))


def decode_ring(text: str, offset: list[int], scale: float) -> Ring:
    """One ring of ECharts' UTF8Encoding (its ``decodePolygon``): zigzag deltas from ``offset``."""
    x, y = offset
    out = []
    for i in range(0, len(text) - 1, 2):
        dx, dy = ord(text[i]) - 64, ord(text[i + 1]) - 64
        x += (dx >> 1) ^ -(dx & 1)
        y += (dy >> 1) ^ -(dy & 1)
        out.append((x / scale, y / scale))
    return out


def polygons(geometry: dict, scale: float) -> list[list[Ring]]:
    """A feature's geometry as a list of polygons, each a list of rings (exterior first)."""
    coords, offsets = geometry["coordinates"], geometry["encodeOffsets"]
    if geometry["type"] == "Polygon":
        return [[decode_ring(r, o, scale) for r, o in zip(coords, offsets, strict=True)]]
    return [[decode_ring(r, o, scale) for r, o in zip(poly, offs, strict=True)]
            for poly, offs in zip(coords, offsets, strict=True)]


def _distance(p: tuple[float, float], a: tuple[float, float], b: tuple[float, float]) -> float:
    """Distance from p to the segment a-b, in degrees."""
    (px, py), (ax, ay), (bx, by) = p, a, b
    dx, dy = bx - ax, by - ay
    if dx == dy == 0:
        return ((px - ax) ** 2 + (py - ay) ** 2) ** 0.5
    t = max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)))
    return ((px - ax - t * dx) ** 2 + (py - ay - t * dy) ** 2) ** 0.5


def simplify(points: Ring, tolerance: float) -> Ring:
    """Douglas-Peucker on an open polyline: its ends kept, every other point within ``tolerance``."""
    if len(points) < 3:
        return list(points)
    keep = [False] * len(points)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    while stack:
        first, last = stack.pop()
        far, worst = 0.0, -1
        for i in range(first + 1, last):
            d = _distance(points[i], points[first], points[last])
            if d > far:
                far, worst = d, i
        if worst > 0 and far > tolerance:
            keep[worst] = True
            stack += [(first, worst), (worst, last)]
    return [p for p, k in zip(points, keep, strict=True) if k]


def area(ring: Ring) -> float:
    """Signed planar area (shoelace, lon/lat): positive when counter-clockwise."""
    return sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(ring, ring[1:] + ring[:1], strict=True)) / 2


def clean_ring(ring: Ring, tolerance: float, exterior: bool) -> list[list[float]] | None:
    """A ring simplified, rounded, closed and wound for d3-geo; None when too little is left."""
    if ring[0] == ring[-1]:
        ring = ring[:-1]
    if len(ring) < 3:
        return None
    # split a closed ring at its farthest point from the start, so both halves have fixed ends
    far = max(range(len(ring)), key=lambda i: (ring[i][0] - ring[0][0]) ** 2 + (ring[i][1] - ring[0][1]) ** 2)
    kept = simplify(ring[: far + 1], tolerance)[:-1] + simplify([*ring[far:], ring[0]], tolerance)[:-1]
    out: Ring = []
    for x, y in kept:
        p = (round(x, 2), round(y, 2))
        if not out or p != out[-1]:
            out.append(p)
    while len(out) > 1 and out[0] == out[-1]:
        out.pop()
    if len(out) < 3 or abs(area(out)) < tolerance * tolerance:
        return None
    if (area(out) < 0) != exterior:  # d3-geo: exterior clockwise, holes counter-clockwise
        out.reverse()
    return [list(p) for p in [*out, out[0]]]


def cpca_names() -> dict[str, str]:
    """Province adcode (6 digits) -> name as cpca spells it (四川省, 香港特别行政区)."""
    from retrieval.geo import points

    return {p.adcode[:6]: p.name for p in points() if p.level == 0}


def make(source: dict, tolerance: float) -> dict:
    if not source.get("UTF8Encoding"):
        raise SystemExit("expected ECharts' UTF8Encoding china.json (echarts 4.x map/json/china.json)")
    scale = source.get("UTF8Scale") or 1024
    names = cpca_names()
    features = []
    for f in source["features"]:
        code, short = f["properties"]["id"], f["properties"]["name"]
        name = names.get(code)
        if name is None or not name.startswith(short[:2]):
            raise SystemExit(f"no cpca province for ECharts' {short} ({code})")
        polys = []
        for poly in polygons(f["geometry"], scale):
            exterior = clean_ring(poly[0], tolerance, exterior=True)
            if exterior is None:
                continue
            holes = [r for r in (clean_ring(r, tolerance, exterior=False) for r in poly[1:]) if r is not None]
            polys.append([exterior, *holes])
        if not polys:  # a small region (澳门): its largest ring, unsimplified
            ring = max((p[0] for p in polygons(f["geometry"], scale)), key=lambda r: abs(area(r)))
            polys = [[clean_ring(ring, 0.0, exterior=True)]]
        geometry = ({"type": "Polygon", "coordinates": polys[0]} if len(polys) == 1
                    else {"type": "MultiPolygon", "coordinates": polys})
        features.append({"type": "Feature", "properties": {"name": name}, "geometry": geometry})
    missing = set(names.values()) - {f["properties"]["name"] for f in features}
    if missing:
        raise SystemExit(f"ECharts' map lacks {sorted(missing)}")
    features.sort(key=lambda f: next(c for c, n in names.items() if n == f["properties"]["name"]))
    return {"type": "FeatureCollection", "features": features}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("source", type=Path, help="echarts-4.9.0.tgz (npm pack echarts@4.9.0) or its map/json/china.json")
    ap.add_argument("--tolerance", type=float, default=0.05, help="Douglas-Peucker tolerance, degrees (0.05)")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    fc = make(read_source(args.source), args.tolerance)
    text = json.dumps(fc, ensure_ascii=False, separators=(",", ":"))
    args.out.write_text(text + "\n", encoding="utf-8")
    rings = sum(len(p) for f in fc["features"] for p in (
        [f["geometry"]["coordinates"]] if f["geometry"]["type"] == "Polygon" else f["geometry"]["coordinates"]))
    print(f"{args.out}: {len(fc['features'])} regions, {rings} rings, {len(text.encode()) / 1024:.0f} KB")


if __name__ == "__main__":
    main()
