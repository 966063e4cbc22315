"""The printable hearing map: one A4/A3 PDF page for a mediation hearing at the mining court.

Drawn server-side with reportlab from geometries projected to EPSG:4546 (metres, so the scale bar is
true); the CJK font (WenQuanYi Micro Hei, Debian fonts-wqy-microhei) is embedded; no external request.
The map carries no petitioner or parcel-holder names: a hearing map is shown to both sides.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field

import shapely
from django.contrib.gis.geos import GEOSGeometry
from pyproj import Transformer
from reportlab.lib import colors
from reportlab.lib.pagesizes import A3, A4, landscape
from reportlab.pdfgen.canvas import Canvas
from shapely import wkb
from shapely.geometry.base import BaseGeometry

from geo_disputes.models import Case, MiningArea, Parcel, Role, Village
from geo_disputes.services.cases.access import staff_profile
from geo_disputes.services.cjk_font import FONT, register_font

MAX_PARCELS = 60  # a hearing discusses a handful; more would be unreadable on one page
PAPERS = {"A4": A4, "A3": A3}
_TO_METRIC = Transformer.from_crs(4326, 4546, always_xy=True).transform
_LAND_USE_COLOURS = {
    "grassland": "#b5d99c",
    "cultivated": "#f3e08a",
    "homestead": "#e8a87c",
    "forest": "#6fb26f",
    "construction": "#c9c9c9",
    "mining": "#8d6e63",
    "other": "#e0e0e0",
}


@dataclass
class HearingMap:
    """What one printed page shows; geometries in EPSG:4546 metres."""

    title: str
    subject: str
    printed_by: str
    printed_on: dt.date
    village: tuple[str, BaseGeometry] | None = None
    mines: list[tuple[str, BaseGeometry, BaseGeometry]] = field(default_factory=list)
    parcels: list[tuple[str, str, float, BaseGeometry]] = field(default_factory=list)
    case_points: list[tuple[str, BaseGeometry]] = field(default_factory=list)


def for_case(case: Case, *, printed_by: str, on: dt.date) -> HearingMap:
    """The page for one case: its point, its parcels (or those around it), its mine and village."""
    page = HearingMap("庭审用图", f"事项 {case.reference}", printed_by, on)
    page.case_points.append((case.reference, _metric(case.location)))
    village = Village.objects.in_force(on).filter(code=case.village_code).first() if case.village_code else None
    if village is not None:
        page.village = (village.name, _metric(village.geom))
    if case.mining_area_code:
        mine = MiningArea.objects.in_force(on).filter(code=case.mining_area_code).first()
        if mine is not None:
            page.mines.append(_mine(mine))
            page.subject += f" · {mine.name}"
    parcels = list(case.parcels.all()[:MAX_PARCELS]) or list(
        # The case's own banner's parcels only: near a border the neighbour's are not ours to print.
        Parcel.objects.in_force(on).filter(geom__dwithin=(case.location, 0.003), code__startswith=case.banner_code)[
            :MAX_PARCELS
        ]
    )
    page.parcels = [_parcel(p) for p in parcels]
    return page


def for_mining_area(mine: MiningArea, *, printed_by: str, on: dt.date) -> HearingMap:
    """The page for one mine: its area and influence zone and the parcels inside the zone."""
    page = HearingMap("庭审用图", f"矿区 {mine.name}", printed_by, on)
    page.mines.append(_mine(mine))
    parcels = Parcel.objects.in_force(on).filter(geom__intersects=mine.influence_zone)
    page.parcels = [_parcel(p) for p in parcels.order_by("code")[:MAX_PARCELS]]
    return page


def may_print_mining_area(user) -> bool:
    """The mine-wide map (every parcel in the zone) is the court's and the banner admin's — of their banner's
    mines only: the print view looks the mine up among area_scope's (another banner's answers as unknown)."""
    if user is None or not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    profile = staff_profile(user)
    return profile is not None and profile.role in (Role.MINING_COURT, Role.BANNER_ADMIN)


def render_pdf(page: HearingMap, paper: str = "A4") -> bytes:
    """One landscape page: title, map frame with north arrow and scale bar, legend, date and printer."""
    register_font()
    width, height = landscape(PAPERS.get(paper, A4))
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=(width, height), pageCompression=1)
    canvas.setTitle(f"{page.title} {page.subject}")
    margin = 28.0
    legend_w = 170.0
    frame = (margin, margin + 24, width - 2 * margin - legend_w - 12, height - 2 * margin - 24 - 40)
    canvas.setFont(FONT, 18)
    canvas.drawString(margin, height - margin - 18, f"{page.title}　{page.subject}")
    scale_m = _draw_map(canvas, page, frame)
    _draw_legend(canvas, page, (frame[0] + frame[2] + 12, frame[1], legend_w, frame[3]))
    canvas.setFont(FONT, 9)
    canvas.drawString(
        margin,
        margin,
        f"打印日期：{page.printed_on:%Y-%m-%d}　打印人：{page.printed_by}　"
        f"坐标系：CGCS2000 / 3度带 CM111E (EPSG:4546)　比例尺约 1:{scale_m:,.0f}　"
        "边界为演示数据，仅供调解参考",
    )
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _draw_map(canvas: Canvas, page: HearingMap, frame: tuple[float, float, float, float]) -> float:
    """Draw the layers fitted into `frame`; return the scale denominator."""
    x0, y0, w, h = frame
    shapes = [g for _, g, z in page.mines for g in (g, z)] + [p[3] for p in page.parcels]
    shapes += [g.buffer(300) for _, g in page.case_points]
    if page.village:
        shapes.append(page.village[1])
    minx, miny, maxx, maxy = _bounds(shapes)
    span = max((maxx - minx) / w, (maxy - miny) / h) * 1.08  # metres per point
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2

    def to_page(x: float, y: float) -> tuple[float, float]:
        return x0 + w / 2 + (x - cx) / span, y0 + h / 2 + (y - cy) / span

    canvas.saveState()
    canvas.rect(x0, y0, w, h)
    clip = canvas.beginPath()
    clip.rect(x0, y0, w, h)
    canvas.clipPath(clip, stroke=0)
    if page.village:
        _polygon(canvas, page.village[1], to_page, fill=None, stroke="#555555", dash=(4, 3))
    for _, _area, zone in page.mines:
        _polygon(canvas, zone, to_page, fill="#fde2e2", stroke="#e57373", dash=(3, 2))
    for _code, land_use, _mu, geom in page.parcels:
        _polygon(canvas, geom, to_page, fill=_LAND_USE_COLOURS.get(land_use, "#e0e0e0"), stroke="#666666")
    for _name, area, _ in page.mines:
        _polygon(canvas, area, to_page, fill=None, stroke="#b71c1c", width=1.6)
    canvas.setFillColor(colors.black)
    canvas.setFont(FONT, 6.5)
    for code, land_use, mu, geom in page.parcels:
        x, y = to_page(*geom.representative_point().coords[0])
        canvas.drawCentredString(x, y, f"{code[-6:]} {_land_use_label(land_use)} {mu:.1f}亩")
    canvas.setFont(FONT, 9)
    for name, area, _ in page.mines:
        x, y = to_page(*area.representative_point().coords[0])
        canvas.drawCentredString(x, y, name)
    for reference, point in page.case_points:
        x, y = to_page(*point.coords[0])
        canvas.setFillColor(colors.HexColor("#1565c0"))
        canvas.circle(x, y, 4, stroke=0, fill=1)
        canvas.setFillColor(colors.black)
        canvas.drawString(x + 6, y + 2, reference)
    canvas.restoreState()
    _north_arrow(canvas, x0 + w - 30, y0 + h - 50)
    _scale_bar(canvas, x0 + 12, y0 + 12, span)
    return span / 0.0003528  # metres per point ÷ metres per point on paper (1 pt = 0.3528 mm)


def _draw_legend(canvas: Canvas, page: HearingMap, box: tuple[float, float, float, float]) -> None:
    """Legend: mine, zone, village, case point, and each land use present."""
    x, y, w, h = box
    canvas.setFont(FONT, 11)
    canvas.drawString(x, y + h - 14, "图例")
    rows = [("#ffffff", "#b71c1c", "矿区范围"), ("#fde2e2", "#e57373", "矿区影响区")]
    rows += [("#ffffff", "#555555", "村界")] if page.village else []
    for land_use in sorted({p[1] for p in page.parcels}):
        rows.append((_LAND_USE_COLOURS.get(land_use, "#e0e0e0"), "#666666", f"地块：{_land_use_label(land_use)}"))
    canvas.setFont(FONT, 9)
    top = y + h - 34
    for i, (fill, stroke, label) in enumerate(rows):
        row_y = top - i * 16
        canvas.setFillColor(colors.HexColor(fill))
        canvas.setStrokeColor(colors.HexColor(stroke))
        canvas.rect(x, row_y, 18, 10, fill=1)
        canvas.setFillColor(colors.black)
        canvas.drawString(x + 24, row_y + 1, label)
    if page.case_points:
        row_y = top - len(rows) * 16
        canvas.setFillColor(colors.HexColor("#1565c0"))
        canvas.circle(x + 9, row_y + 5, 4, stroke=0, fill=1)
        canvas.setFillColor(colors.black)
        canvas.drawString(x + 24, row_y + 1, "事项位置")
    canvas.setStrokeColor(colors.black)
    total = sum(p[2] for p in page.parcels)
    canvas.drawString(x, y + 40, f"地块 {len(page.parcels)} 宗，合计 {total:.1f} 亩")
    canvas.drawString(x, y + 26, "面积按 EPSG:4546 计算")


def _scale_bar(canvas: Canvas, x: float, y: float, metres_per_point: float) -> None:
    """A bar of a round length (1-2-5 series) about 120 pt long, with its length written on it."""
    target = metres_per_point * 120
    length = min((m * 10**e for e in range(0, 6) for m in (1, 2, 5) if m * 10**e <= target), key=lambda v: -v)
    bar = length / metres_per_point
    canvas.setFillColor(colors.white)
    canvas.rect(x - 4, y - 4, bar + 60, 22, stroke=0, fill=1)
    canvas.setFillColor(colors.black)
    canvas.rect(x, y, bar / 2, 4, fill=1)
    canvas.rect(x + bar / 2, y, bar / 2, 4, fill=0)
    canvas.setFont(FONT, 8)
    label = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
    canvas.drawString(x, y + 7, "0")
    canvas.drawString(x + bar + 4, y, f"比例尺 {label}")


def _north_arrow(canvas: Canvas, x: float, y: float) -> None:
    """A north arrow (grid north; EPSG:4546's convergence here is under 1°)."""
    path = canvas.beginPath()
    path.moveTo(x, y + 30)
    path.lineTo(x - 8, y)
    path.lineTo(x, y + 8)
    path.lineTo(x + 8, y)
    path.close()
    canvas.setFillColor(colors.black)
    canvas.drawPath(path, fill=1)
    canvas.setFont(FONT, 10)
    canvas.drawCentredString(x, y + 34, "北 N")


def _polygon(canvas, geom, to_page, *, fill, stroke, width: float = 0.6, dash=None) -> None:
    """Draw a (multi)polygon with its holes."""
    polygons = getattr(geom, "geoms", [geom])
    canvas.saveState()
    canvas.setLineWidth(width)
    canvas.setStrokeColor(colors.HexColor(stroke))
    if dash:
        canvas.setDash(*dash)
    if fill:
        canvas.setFillColor(colors.HexColor(fill))
    for polygon in polygons:
        if polygon.geom_type != "Polygon" or polygon.is_empty:
            continue
        path = canvas.beginPath()
        for ring in [polygon.exterior, *polygon.interiors]:
            points = [to_page(x, y) for x, y in ring.coords]
            path.moveTo(*points[0])
            for point in points[1:]:
                path.lineTo(*point)
            path.close()
        canvas.drawPath(path, stroke=1, fill=1 if fill else 0, fillMode=0)
    canvas.restoreState()


def _bounds(shapes: list[BaseGeometry]) -> tuple[float, float, float, float]:
    boxes = [s.bounds for s in shapes if not s.is_empty]
    minx, miny = min(b[0] for b in boxes), min(b[1] for b in boxes)
    maxx, maxy = max(b[2] for b in boxes), max(b[3] for b in boxes)
    if maxx - minx < 200 or maxy - miny < 200:  # a lone point: show 1 km around it
        cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
        minx, maxx, miny, maxy = cx - 500, cx + 500, cy - 500, cy + 500
    return minx, miny, maxx, maxy


def _metric(geom: GEOSGeometry) -> BaseGeometry:
    return shapely.transform(wkb.loads(bytes(geom.wkb)), _TO_METRIC, interleaved=False)


def _mine(mine: MiningArea) -> tuple[str, BaseGeometry, BaseGeometry]:
    return mine.name, _metric(mine.geom), _metric(mine.influence_zone)


def _parcel(parcel: Parcel) -> tuple[str, str, float, BaseGeometry]:
    return parcel.code, parcel.land_use, float(parcel.area_mu or 0), _metric(parcel.geom)


def _land_use_label(land_use: str) -> str:
    return dict(Parcel.LandUse.choices).get(land_use, land_use)
