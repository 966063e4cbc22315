"""OGC API – Features, Part 1 (Core, GeoJSON, HTML): the layers and the cases for GIS clients (QGIS, GDAL).

Written small against the standard's text (OGC 17-069r4) rather than with a server package: the available ones
(pygeoapi and the like) own their data access, and ours must stay the one that applies scope and masking — the
`cases` collection is the JSON API's case list (`case_queries.case_collection`, the same SQL, the same withheld
text and coarse points), the area collections are the map layers (`geojson.LAYERS`, holders never in bulk,
contract numbers per role). This module builds the documents as plain dicts and GeoJSON text; the views only
negotiate JSON or HTML and authenticate (token or session).

Paging is `limit` (default 10, at most MAX_LIMIT) and `offset`, with `next`/`prev` links; `numberMatched` is given
when the count is exact (a case count stops at geojson.COUNT_LIMIT unless the end is in sight: counting a million
rows to print a number is most of a page's time). `datetime` selects, for the areas, the boundary versions in force
at that instant (today when absent) or at some time in that interval; for the cases, those received in it.
Any other query parameter is refused (Requirement 16 /req/core/query-param-unknown), except a property of the
collection's queryables, which filters by equality.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.contrib.gis.db.models import Extent
from django.db.models import Max, Min
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from geo_disputes.models import Banner
from geo_disputes.services.areas.area_scope import area_filter
from geo_disputes.services.cases.access import can_read_contract_numbers, visible_cases
from geo_disputes.services.cases.case_queries import CaseFilter, case_collection, filter_cases
from geo_disputes.services.geojson import LAYERS, Page, feature_collection

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
]
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
DEFAULT_LIMIT = 10
MAX_LIMIT = 5000
GEOJSON, JSON, HTML = "application/geo+json", "application/json", "text/html"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
_TZ = ZoneInfo("Asia/Shanghai")
# Query parameters every items request may carry; queryables come on top.
ITEMS_PARAMETERS = {"f", "limit", "offset", "bbox", "bbox-crs", "datetime"}
# Case properties a client may filter by, and the CaseFilter field each one sets.
CASE_QUERYABLES = {
    "category": "category",
    "status": "status",
    "tier": "tier",
    "township_code": "township",
    "village_code": "village",
    "grid_code": "grid",
    "mining_area_code": "mining_area",
}


class OgcError(ValueError):
    """A request the standard says to refuse: `status` 400 (bad parameter) or 404 (no such collection/item)."""

    def __init__(self, message: str, parameter: str = "", status: int = 400):
        super().__init__(message)
        self.parameter, self.status = parameter, status


@dataclass(frozen=True)
class Collection:
    id: str
    title: str
    description: str
    layer: str = ""  # a key of geojson.LAYERS; "" for the cases

    @property
    def is_cases(self) -> bool:
        return not self.layer

    def queryables(self, user) -> list[str]:
        if self.is_cases:
            return list(CASE_QUERYABLES)
        return [p for p in LAYERS[self.layer].properties if p != "id" and p not in _hidden(user)]


COLLECTIONS: dict[str, Collection] = {
    c.id: c
    for c in (
        Collection(
            "townships", gettext_noop("苏木乡镇(街道)"), gettext_noop("乡镇级边界,按生效日期分版本"), "townships"
        ),
        Collection(
            "villages",
            gettext_noop("嘎查村(社区)"),
            gettext_noop("村级边界,12位统计用区划代码"),
            "villages",
        ),
        Collection(
            "grids",
            gettext_noop("网格"),
            gettext_noop("网格边界(10–15户,一名网格员)"),
            "grids",
        ),
        Collection(
            "mining-areas",
            gettext_noop("矿区"),
            gettext_noop("持证采矿区范围"),
            "mining-areas",
        ),
        Collection(
            "influence-zones",
            gettext_noop("矿区影响区"),
            gettext_noop("矿区周边影响范围"),
            "mining-zones",
        ),
        Collection(
            "parcels",
            gettext_noop("地块"),
            gettext_noop("承包地、草场、宅基地等(不含承包户姓名)"),
            "parcels",
        ),
        Collection(
            "cases", gettext_noop("信访事项与矛盾纠纷"), gettext_noop("您有权查看的事项;非经办人员只见大致位置")
        ),
    )
}
# Other spellings a client may try for the same collection (not listed).
ALIASES = {"mining_areas": "mining-areas", "influence_zones": "influence-zones", "mining-zones": "influence-zones"}


def collection(collection_id: str) -> Collection:
    found = COLLECTIONS.get(ALIASES.get(collection_id, collection_id))
    if found is None:
        raise OgcError(f"无此数据集 / no collection {collection_id!r}; collections: {', '.join(COLLECTIONS)}", "", 404)
    return found


# -- documents ---------------------------------------------------------------------------------------------------


def landing(base: str, banner: str = "") -> dict:
    """The landing page; `banner` names the caller's banner when not the home one (several banners per deployment)."""
    return {
        "title": f"{banner or '准格尔旗'}矛盾纠纷与信访事项 · OGC API – Features",
        "description": "Zhungeer Banner disputes and petitions: boundaries, parcels, mining areas and cases "
        "(scope and masking as in the JSON API).",
        "links": [
            _link(base, "self", JSON, "本页 / this document"),
            _link(base, "alternate", HTML, "本页(网页) / this document as HTML", html=True),
            _link(f"{base}/conformance", "conformance", JSON, "符合的标准类 / conformance classes"),
            {"href": f"{base}/api", "rel": "service-desc", "type": OPENAPI, "title": "接口定义 / the API definition"},
            _link(f"{base}/collections", "data", JSON, "数据集 / collections"),
        ],
    }


def api_definition(base: str, user) -> dict:
    """The OpenAPI 3.0 definition of this API (Requirement /req/core/root-success's `service-desc`): the paths,
    and each collection's items parameters — clients such as GDAL read `limit`'s maximum to choose their page."""

    def parameter(name: str, schema: dict, description: str = "") -> dict:
        return {"name": name, "in": "query", "required": False, "schema": schema, "description": description,
                "style": "form", "explode": False}  # fmt: skip

    common = [
        parameter("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}),
        parameter("offset", {"type": "integer", "minimum": 0, "default": 0}),
        parameter("bbox", {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}}),
        parameter("bbox-crs", {"type": "string", "format": "uri", "default": CRS84}),
        parameter("datetime", {"type": "string"}, "RFC 3339 instant or interval (.. for open)"),
        parameter("f", {"type": "string", "enum": ["json", "html"]}),
    ]
    paths: dict = {
        "/": {"get": {"operationId": "getLandingPage", "responses": {"200": {"description": "landing page"}}}},
        "/conformance": {"get": {"operationId": "getConformance", "responses": {"200": {"description": "classes"}}}},
        "/collections": {"get": {"operationId": "getCollections", "responses": {"200": {"description": "list"}}}},
    }
    for c in COLLECTIONS.values():
        queryables = [parameter(name, {"type": "string"}) for name in c.queryables(user)]
        paths[f"/collections/{c.id}"] = {
            "get": {"operationId": f"describe-{c.id}", "responses": {"200": {"description": c.title}}}
        }
        paths[f"/collections/{c.id}/items"] = {
            "get": {
                "operationId": f"items-{c.id}",
                "parameters": common + queryables,
                "responses": {"200": {"description": "features", "content": {GEOJSON: {}}}},
            }
        }
        paths[f"/collections/{c.id}/items/{{featureId}}"] = {
            "get": {
                "operationId": f"item-{c.id}",
                "parameters": [{"name": "featureId", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": {"description": "feature", "content": {GEOJSON: {}}}},
            }
        }
    return {
        "openapi": "3.0.3",
        "info": {"title": "准格尔旗矛盾纠纷与信访事项 · OGC API – Features", "version": "1.0.0"},
        "servers": [{"url": base}],
        "components": {"securitySchemes": {"token": {"type": "apiKey", "in": "header", "name": "Authorization"}}},
        "security": [{"token": []}],
        "paths": paths,
    }


def conformance() -> dict:
    return {"conformsTo": CONFORMANCE}


def collections(base: str, user) -> dict:
    bbox = _banner_bbox(user)  # once for the seven collections
    return {
        "links": [
            _link(f"{base}/collections", "self", JSON, "数据集 / collections"),
            _link(f"{base}/collections", "alternate", HTML, "数据集(网页) / collections as HTML", html=True),
        ],
        "collections": [describe(base, c, user, bbox) for c in COLLECTIONS.values()],
    }


def describe(base: str, c: Collection, user, bbox: list[float] | None = None) -> dict:
    url = f"{base}/collections/{c.id}"
    temporal = _case_interval(user) if c.is_cases else [None, None]
    return {
        "id": c.id,
        "title": gettext(c.title),
        "description": gettext(c.description),
        "itemType": "feature",
        "crs": [CRS84],
        "extent": {
            "spatial": {"bbox": [bbox or _banner_bbox(user)], "crs": CRS84},
            "temporal": {"interval": [temporal], "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"},
        },
        "queryables": c.queryables(user),
        "links": [
            _link(url, "self", JSON, c.title),
            _link(url, "alternate", HTML, c.title, html=True),
            _link(f"{url}/items", "items", GEOJSON, f"{c.title} (GeoJSON)"),
            _link(f"{url}/items", "items", HTML, f"{c.title} (HTML)", html=True),
        ],
    }


def items(base: str, c: Collection, user, query) -> tuple[str, dict]:
    """(GeoJSON text of the page with the standard's members spliced in, the parsed paging facts)."""
    _no_nul(query)
    unknown = sorted(set(query) - ITEMS_PARAMETERS - set(c.queryables(user)))
    if unknown:
        allowed = ", ".join(sorted(ITEMS_PARAMETERS | set(c.queryables(user))))
        raise OgcError(f"未知参数 / unknown parameter {unknown[0]!r}; parameters: {allowed}", unknown[0])
    limit = _int(query, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    offset = _int(query, "offset", 0, 0, 10**9)
    crs = query.get("bbox-crs", CRS84)
    if crs != CRS84:
        raise OgcError(f"bbox-crs: only {CRS84}", "bbox-crs")
    bbox = _bbox(query.get("bbox"))
    start, end, instant = _datetime(query.get("datetime"))
    equals = {name: query[name] for name in c.queryables(user) if query.get(name) not in (None, "")}
    page = Page(1, limit, skip=offset)
    if c.is_cases:
        qs = _cases(user, bbox, start, end, equals)
        text, total = case_collection(user, qs, page)
        matched, exact = total.value, total.exact
    else:
        layer = LAYERS[c.layer]
        on = instant.date() if instant else None
        during = None if instant or (start is None and end is None) else (_day(start), _day(end))
        text, matched = feature_collection(
            layer, user, bbox=bbox, on=on, page=page, hide=_hidden(user), during=during, equals=equals
        )
        exact = True
    returned = max(0, min(limit, matched - offset)) if exact else limit
    more = offset + returned < matched or not exact
    url = f"{base}/collections/{c.id}/items"
    kept = {k: v for k, v in query.items() if k != "f"}

    def at(new_offset: int, fmt: str = "") -> str:
        params = {**kept, "offset": str(new_offset), "limit": str(limit), **({"f": fmt} if fmt else {})}
        return f"{url}?{urlencode(params)}"

    links = [
        {"href": at(offset, "json"), "rel": "self", "type": GEOJSON, "title": "本页 / this page"},
        {"href": at(offset, "html"), "rel": "alternate", "type": HTML, "title": "本页(网页) / as HTML"},
        {"href": f"{base}/collections/{c.id}", "rel": "collection", "type": JSON, "title": c.title},
    ]
    if more:
        links.append({"href": at(offset + limit, "json"), "rel": "next", "type": GEOJSON, "title": "下一页 / next"})
    if offset > 0:
        links.append({"href": at(max(0, offset - limit), "json"), "rel": "prev", "type": GEOJSON, "title": "上一页"})
    head = {
        "numberReturned": returned,
        **({"numberMatched": matched} if exact else {}),
        "timeStamp": timezone.now().replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        "links": links,
    }
    spliced = "{" + json.dumps(head, ensure_ascii=False)[1:-1] + "," + text.lstrip()[1:]
    return spliced, {"returned": returned, "matched": matched if exact else None, "links": links}


def item(base: str, c: Collection, user, feature_id: str, query) -> dict:
    """One feature by its id (an area's code, in force on `datetime` or today; a case's reference)."""
    _no_nul({**query, "featureId": feature_id})
    unknown = sorted(set(query) - {"f", "datetime"})
    if unknown:
        raise OgcError(f"未知参数 / unknown parameter {unknown[0]!r}; parameters: f, datetime", unknown[0])
    if c.is_cases:
        qs = visible_cases(user).filter(reference=feature_id)
        text, _total = case_collection(user, qs, Page(1, 1))
    else:
        _start, _end, instant = _datetime(query.get("datetime"))
        on = instant.date() if instant else None
        text, _count = feature_collection(
            LAYERS[c.layer], user, on=on, page=Page(1, 1), hide=_hidden(user), equals={"code": feature_id}
        )
    features = json.loads(text)["features"]
    if not features:
        raise OgcError(f"无此要素或不在您的权限内 / no feature {feature_id!r} in {c.id}", "", 404)
    feature = features[0]
    url = f"{base}/collections/{c.id}/items/{feature_id}"
    feature["links"] = [
        {"href": f"{url}?f=json", "rel": "self", "type": GEOJSON, "title": "本要素 / this feature"},
        {"href": f"{url}?f=html", "rel": "alternate", "type": HTML, "title": "网页 / as HTML"},
        {"href": f"{base}/collections/{c.id}", "rel": "collection", "type": JSON, "title": c.title},
    ]
    return feature


# -- pieces -----------------------------------------------------------------------------------------------------


def _cases(user, bbox, start: dt.datetime | None, end: dt.datetime | None, equals: dict[str, str]):
    values = {CASE_QUERYABLES[name]: value for name, value in equals.items()}
    try:
        flt = CaseFilter(bbox=bbox, **values)
        qs = filter_cases(visible_cases(user), flt, user)
    except (TypeError, ValueError) as exc:
        raise OgcError(f"筛选条件无效 / bad filter: {exc}") from exc
    if start is not None:
        qs = qs.filter(received_at__gte=start)
    if end is not None:
        qs = qs.filter(received_at__lte=end)
    return qs


def _no_nul(query) -> None:
    """A NUL never reaches SQL (PostgreSQL text cannot hold it): 400 naming the parameter."""
    for name, value in query.items():
        if "\x00" in name or "\x00" in str(value):
            raise OgcError(f"{name}: 含非法字符 / contains NUL", name.replace("\x00", ""))


def _hidden(user) -> tuple[str, ...]:
    return () if can_read_contract_numbers(user) else ("contract_no",)


def _link(href: str, rel: str, media: str, title: str, html: bool = False) -> dict:
    """A link to a resource in one representation, named by `f` (content negotiation by Accept works too)."""
    return {"href": f"{href}?f={'html' if html else 'json'}", "rel": rel, "type": media, "title": title}


def _int(query, name: str, default: int, low: int, high: int) -> int:
    raw = query.get(name)
    if raw in (None, ""):
        return default
    if not raw.isascii() or not raw.isdigit():
        raise OgcError(f"{name}: 应为整数 / an integer: {raw!r}", name)
    value = int(raw)
    if not low <= value <= high:
        raise OgcError(f"{name}: {low}–{high}", name)
    return value


def _bbox(raw: str | None) -> tuple[float, float, float, float] | None:
    if raw in (None, ""):
        return None
    parts = raw.split(",")
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        raise OgcError(f"bbox: 应为 4 个或 6 个数 / 4 or 6 numbers: {raw!r}", "bbox") from None
    if len(numbers) == 6:  # minx, miny, minz, maxx, maxy, maxz
        numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
    if len(numbers) != 4 or any(n != n or abs(n) == float("inf") for n in numbers):
        raise OgcError(f"bbox: 应为 4 个或 6 个数 / 4 or 6 numbers: {raw!r}", "bbox")
    x0, y0, x1, y1 = numbers
    if not (-180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90):
        raise OgcError("bbox: 经纬度范围无效(跨180°经线不支持)/ need minlon ≤ maxlon, minlat ≤ maxlat", "bbox")
    return x0, y0, x1, y1


def _datetime(raw: str | None) -> tuple[dt.datetime | None, dt.datetime | None, dt.datetime | None]:
    """(start, end, instant): an RFC 3339 instant or a date, or an interval `a/b` with `..` or nothing for open."""
    if raw in (None, ""):
        return None, None, None
    if "/" in raw:
        first, _sep, second = raw.partition("/")
        start, end = _moment(first, "start"), _moment(second, "end")
        if start and end and start > end:
            raise OgcError("datetime: 起点晚于终点 / the interval's start is after its end", "datetime")
        if start is None and end is None:
            raise OgcError("datetime: 区间两端不能都开放 / both ends open", "datetime")
        return start, end, None
    instant = _moment(raw, "instant")
    if instant is None:
        raise OgcError("datetime: '..' 只用于区间 / only in an interval", "datetime")
    if len(raw) == 10:  # a whole day: the interval of that day for the cases, the day itself for the areas
        return instant, instant + dt.timedelta(days=1) - dt.timedelta(microseconds=1), instant
    return instant, instant, instant


def _moment(text: str, which: str) -> dt.datetime | None:
    text = text.strip()
    if text in ("", ".."):
        return None
    try:
        if len(text) == 10:
            return dt.datetime.combine(dt.date.fromisoformat(text), dt.time(), tzinfo=_TZ)
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise OgcError(f"datetime: 应为 RFC 3339 时间或日期 / not an RFC 3339 {which}: {text!r}", "datetime") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=_TZ)


def _day(moment: dt.datetime | None) -> dt.date | None:
    return moment.astimezone(_TZ).date() if moment else None


def _banner_bbox(user) -> list[float]:
    """The extent of the user's banner(s) (a city's, every banner's for a superuser), never of other banners."""
    box = Banner.objects.filter(area_filter(user, Banner)).aggregate(box=Extent("geom"))["box"]
    if box is None:
        return [-180.0, -90.0, 180.0, 90.0]
    x0, y0, x1, y1 = box
    return [round(x0, 6), round(y0, 6), round(x1, 6), round(y1, 6)]


def _case_interval(user) -> list[str | None]:
    span = visible_cases(user).aggregate(first=Min("received_at"), last=Max("received_at"))
    return [
        span["first"].isoformat() if span["first"] else None,
        None,  # open: cases keep arriving
    ]
