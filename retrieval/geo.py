"""Where a region is on the map: points from the table cpca ships, province shapes from ours, offline.

cpca's ``resources/adcodes.csv`` gives every province, city and county (3,500 rows) a point
(its seat). A name is resolved inside its province, so the three 朝阳区 stay apart; a zone
that cpca does not know (川渝高竹新区) takes its city's or province's point. The 34 provinces'
outlines are ``retrieval/data/china_provinces.geojson`` (from Apache ECharts 4.9.0, see
``NOTICE-china-map.txt``; made by ``scripts/make_china_map.py``), named as cpca names them.
"""

from __future__ import annotations

import csv
import functools
import importlib.util
import io
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from retrieval.errors import UserError


@dataclass(frozen=True)
class Point:
    """A region's seat: adcode, name, level (0 province, 1 city, 2 county) and coordinates."""

    adcode: str
    name: str
    level: int
    lon: float
    lat: float


@functools.lru_cache(maxsize=1)
def points() -> tuple[Point, ...]:
    """Every row of cpca's adcode table (read once)."""
    spec = importlib.util.find_spec("cpca")  # its folder, without running cpca's (slow, noisy) import
    if spec is None or not spec.submodule_search_locations:
        raise UserError("cpca is not installed: pip install cpca (or ./run setup)")
    folder = Path(next(iter(spec.submodule_search_locations)))
    text = (folder / "resources" / "adcodes.csv").read_text(encoding="utf-8")
    out = []
    for row in csv.DictReader(io.StringIO(text)):
        code = row["adcode"]
        if not row["longitude"] or not row["latitude"]:
            continue  # a few rows (e.g. 市辖区) have no point
        level = 0 if code[2:].strip("0") == "" else 1 if code[4:].strip("0") == "" else 2
        out.append(Point(code, row["name"], level, float(row["longitude"]), float(row["latitude"])))
    return tuple(out)


@functools.lru_cache(maxsize=1)
def _by_name() -> dict[str, list[Point]]:
    table: dict[str, list[Point]] = {}
    for p in points():
        table.setdefault(p.name, []).append(p)
    return table


def _province_code(province: str) -> str | None:
    for p in _by_name().get(province, ()):
        if p.level == 0:
            return p.adcode[:2]
    return None


def locate(region: str, province: str = "", city: str = "", county: str = "") -> Point | None:
    """The point of the most specific name that cpca knows, inside ``province`` when given.

    Args:
        region: the name as the index stores it (a county, city, province or zone).
        province, city, county: its parents, as a Fact or Chunk carries them.
    """
    prefix = _province_code(province) if province else None
    for name in (county, region, city, province):
        if not name:
            continue
        found = [p for p in _by_name().get(name, ()) if prefix is None or p.adcode.startswith(prefix)]
        if found:
            return min(found, key=lambda p: p.level)
    return None


def provinces() -> list[Point]:
    """The 34 provincial seats, for a map's backdrop labels."""
    return [p for p in points() if p.level == 0]


@functools.cache
def province_shapes() -> dict:
    """The 34 province-level regions as a GeoJSON FeatureCollection (read once; do not mutate).

    Each feature's ``properties.name`` is cpca's name (四川省, 香港特别行政区); exterior rings wind
    clockwise, as d3-geo (Vega) expects.
    """
    text = (resources.files("retrieval") / "data" / "china_provinces.geojson").read_text(encoding="utf-8")
    return json.loads(text)
