"""The map of an answer's or a subject's regions, as a Vega-Lite spec (a plain dict), offline.

China's 34 provinces are drawn from ``retrieval/data/china_provinces.geojson`` in light grey; a
province that states a figure is filled by its value; a city, county or zone is a point at its
seat (cpca), coloured on the same scale. Every byte of data is inline (GeoJSON in the layers'
``values``, the points as a named dataset that Streamlit sends as Arrow): no tiles, no URL.
Built as a dict, not with Altair, whose objects validate every channel as they are made.
"""

from __future__ import annotations

from retrieval.answer.chart_data import TOOLTIP, map_layers
from retrieval.geo import province_shapes

Q, N = "quantitative", "nominal"
# China on a conic equal-area projection, as Chinese atlases draw it (standard parallels 25°N and 47°N)
PROJECTION = {"type": "conicEqualArea", "parallels": [25, 47], "rotate": [-105, 0, 0]}


def map_chart(rows: list[dict], subject: str, unit: str, height: int = 420) -> dict:
    """The rows on China: provinces filled, other regions as points, coloured by value.

    Args:
        rows: chart rows (`chart_data.fact_row`); those with neither a province's shape nor a
            point are left out.
        subject, unit: what the values measure; the legend's title.
        height: in pixels; the width follows the page.
    """
    shapes, points = map_layers(rows)
    title = f"{subject} ({unit})" if subject else unit
    color = {"field": "value", "type": Q, "title": title, "scale": {"scheme": "orangered"},
             "legend": {"format": "~g", "orient": "bottom"}}
    hover = [{"field": f, "type": Q if f == "value" else N} for f in TOOLTIP]
    where = {"longitude": {"field": "lon", "type": Q}, "latitude": {"field": "lat", "type": Q}}
    layers: list[dict] = [
        {"data": {"values": province_shapes()["features"]},
         "mark": {"type": "geoshape", "fill": "#f1f3f5", "stroke": "#adb5bd", "strokeWidth": 0.6},
         "encoding": {"tooltip": [{"field": "properties.name", "type": N, "title": "province"}]}},
    ]
    if shapes:
        layers.append({"data": {"values": shapes},
                       "mark": {"type": "geoshape", "stroke": "#495057", "strokeWidth": 0.8, "opacity": 0.9},
                       "encoding": {"color": color, "tooltip": hover}})
    if points:
        layers.append({"data": {"name": "points"},
                       "mark": {"type": "circle", "size": 160, "opacity": 0.9, "stroke": "#212529",
                                "strokeWidth": 0.6},
                       "encoding": {**where, "color": color, "tooltip": hover}})
    labels = [{"region": r["region"], "lon": r["lon"], "lat": r["lat"]} for r in [*shapes, *points]
              if r["lon"] is not None and r["lat"] is not None]
    if labels:
        layers.append({"data": {"name": "labels"}, "mark": {"type": "text", "dy": -12, "fontSize": 11},
                       "encoding": {**where, "text": {"field": "region", "type": N}}})
    datasets = {name: data for name, data in (("points", points), ("labels", labels)) if data}
    return {"title": "on the map", "height": height, "projection": PROJECTION, "layer": layers,
            **({"datasets": datasets} if datasets else {})}
