"""The map pages as a server sees them: login, no outside URL, vendored files, basemap, escaping."""

from __future__ import annotations

import re
import urllib.request
from pathlib import Path

import folium
import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from folium.plugins import MeasureControl

from maps.assets import VENDORED_PACKAGES, ExternalAsset, use_vendored, vendored_files
from maps.builders import field_map
from maps.checks import basemap_configured
from tests.factories import StaffFactory

MAP_PAGES = ["/maps/field/", "/maps/court/", "/maps/planner/"]
LOCAL_HOSTS = {"127.0.0.1", "localhost", "testserver"}
VENDOR_ROOT = Path(settings.BASE_DIR) / "maps" / "static" / "maps" / "vendor"


@pytest.fixture
def staff(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("field-staff"))
    return client


def external_urls(html: str) -> list[str]:
    """Every http(s) URL not pointing at this server, and every protocol-relative CDN reference."""
    found = [
        url
        for url in re.findall(r"https?://[^\s\"'<>)]+", html)
        if re.match(r"https?://([^/:?#]+)", url).group(1) not in LOCAL_HOSTS
    ]
    return found + re.findall(r"//cdn[^\s\"'<>)]*", html)


@pytest.mark.django_db
@pytest.mark.parametrize("url", MAP_PAGES)
def test_a_map_page_needs_login(client, url):
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith(settings.LOGIN_URL)


@pytest.mark.django_db
def test_the_court_parcel_layer_needs_login(client):
    assert client.get("/maps/features/mining-parcels/").status_code in (401, 403)


@pytest.mark.django_db
@pytest.mark.parametrize("url", MAP_PAGES)
def test_a_map_page_names_no_outside_url(staff, url):
    html = staff.get(url).content.decode()
    assert 'class="folium-map"' in html and "GeoDisputesMaps.mount(" in html
    assert external_urls(html) == []
    for cdn in ("bootstrap", "font-awesome", "fontawesome", "awesome-markers", "code.jquery.com"):
        assert cdn not in html.lower()


def test_the_scan_itself_catches_outside_urls():
    html = (
        '<script src="https://cdn.jsdelivr.net/x.js"></script><link href="//cdnjs.example/a.css"> http://127.0.0.1/ok'
    )
    found = external_urls(html)
    assert "https://cdn.jsdelivr.net/x.js" in found and "//cdnjs.example/a.css" in found
    assert not any("127.0.0.1" in url for url in found)


@pytest.mark.django_db
@pytest.mark.parametrize("url", MAP_PAGES)
def test_every_script_and_stylesheet_of_a_page_is_one_of_our_static_files(staff, url):
    html = staff.get(url).content.decode()
    refs = re.findall(r'<script[^>]+src="([^"]+)"', html) + re.findall(r'<link[^>]+href="([^"]+\.css)"', html)
    assert any("vendor/leaflet/leaflet.js" in r for r in refs)
    assert "/jsi18n/" in refs  # the scripts' texts in the page's language, from this server
    for ref in (r for r in refs if r != "/jsi18n/"):
        assert ref.startswith(settings.STATIC_URL), ref
        assert finders.find(ref.removeprefix(settings.STATIC_URL)), f"{ref} is not a static file"


@pytest.mark.parametrize("package", sorted(VENDORED_PACKAGES))
def test_each_vendored_package_keeps_its_licence(package):
    folder = VENDOR_ROOT / package
    assert any(p.name.upper().startswith(("LICENSE", "MIT-LICENCE")) for p in folder.iterdir()), folder


@pytest.mark.parametrize(
    "path,marker",
    [
        ("leaflet/leaflet.js", 'version="1.9.4"'),
        ("jquery/jquery.min.js", "jQuery v3.7.1"),
        ("leaflet.markercluster/leaflet.markercluster.js", "MarkerClusterGroup"),
        ("leaflet.heat/leaflet-heat.js", "heatLayer"),
        ("leaflet.fullscreen/Control.FullScreen.js", "fullscreen"),
    ],
)
def test_the_vendored_files_are_the_packages_named(path, marker):
    assert marker in (VENDOR_ROOT / path).read_text(encoding="utf-8")


def test_leaflet_finds_its_images_beside_its_css():
    for image in ("layers.png", "layers-2x.png", "marker-icon.png", "marker-icon-2x.png", "marker-shadow.png"):
        assert (VENDOR_ROOT / "leaflet" / "images" / image).is_file()


def test_vendored_files_are_served(live_server):
    scripts = ["maps/js/layers.js", "maps/js/field.js", "maps/js/court.js", "maps/js/planner.js"]
    for path in [*vendored_files(), *scripts, "maps/css/maps.css"]:
        with urllib.request.urlopen(f"{live_server.url}{settings.STATIC_URL}{path}", timeout=10) as response:
            assert response.status == 200 and len(response.read()) > 100, path


def test_a_map_element_asking_for_an_outside_file_fails_the_build(settings):
    m = field_map()
    MeasureControl().add_to(m)  # not vendored: it would load from a CDN
    with pytest.raises(ExternalAsset, match="MeasureControl"):
        use_vendored(m)


def test_vendoring_touches_instances_not_folium_classes():
    before = list(folium.Map.default_js)
    use_vendored(field_map())
    assert folium.Map.default_js == before and "cdn.jsdelivr.net" in str(before)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "basemap,key,url,expected,unexpected",
    [
        ("none", "", "", [], ["L.tileLayer("]),
        ("osm", "", "", ["L.tileLayer(", "tile.openstreetmap.org"], ["tianditu"]),
        ("tianditu", "tk-123", "", ["vec_w/wmts", "cva_w/wmts", "tk=tk-123"], ["openstreetmap"]),
        (
            "intranet",
            "",
            "http://tiles.gov.local/{z}/{x}/{y}.png",
            ["L.tileLayer(", "tiles.gov.local/{z}/{x}/{y}.png"],
            ["openstreetmap", "tianditu"],
        ),
    ],
)
def test_the_basemap_setting_decides_the_tile_layer(staff, settings, basemap, key, url, expected, unexpected):
    settings.MAP_BASEMAP, settings.TIANDITU_KEY, settings.MAP_TILE_URL = basemap, key, url
    for page in MAP_PAGES:
        html = staff.get(page).content.decode()
        assert html.count("L.tileLayer(") == (0 if basemap == "none" else 2 if basemap == "tianditu" else 1)
        for text in expected:
            assert text in html, (page, text)
        for text in unexpected:
            assert text not in html, (page, text)


@pytest.mark.parametrize(
    "basemap,key,url,message",
    [
        ("tianditu", "", "", "TIANDITU_KEY"),
        ("intranet", "", "http://tiles.gov.local/tile.png", "MAP_TILE_URL"),
        ("gaode", "", "", "use one of"),
    ],
)
def test_a_wrong_basemap_setting_is_a_system_check_error(settings, basemap, key, url, message):
    settings.MAP_BASEMAP, settings.TIANDITU_KEY, settings.MAP_TILE_URL = basemap, key, url
    [error] = basemap_configured(None)
    assert error.id == "maps.E001" and message in error.msg


def test_the_default_basemap_passes_the_check(settings):
    settings.MAP_BASEMAP = "none"
    assert basemap_configured(None) == []


@pytest.mark.django_db
def test_what_the_user_typed_comes_back_escaped(staff):
    attack = '"><script>alert(1)</script><img src=x onerror=alert(2)>'
    html = staff.get("/maps/field/", {"code": attack, "lon": "111.1", "lat": "39.6", "datum": "gcj02"}).content.decode()
    assert "<script>alert(1)</script>" not in html and "<img src=x" not in html
    assert "&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'value="111.1"' in html and '<option value="gcj02" selected>' in html


@pytest.mark.django_db
def test_a_username_in_the_page_header_is_escaped(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("<img src=x onerror=alert(1)>"))
    html = client.get("/maps/court/").content.decode()
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html


@pytest.mark.django_db
@pytest.mark.parametrize("url", MAP_PAGES)
def test_a_page_is_small_and_holds_no_features(staff, url):
    html = staff.get(url).content.decode()
    assert len(html.encode()) < 40_000
    assert '"type": "Feature"' not in html and "coordinates" not in html


@pytest.mark.django_db
def test_the_planner_page_brings_the_marker_cluster_and_heat_plugins_and_every_layer(staff):
    html = staff.get("/maps/planner/").content.decode()
    for asset in ("leaflet.markercluster/leaflet.markercluster.js", "MarkerCluster.Default.css", "leaflet-heat.js"):
        assert asset in html, asset
    assert "L.markerClusterGroup(" in html and "L.heatLayer(" in html
    for layer in ("village-rates", "hotspots", "clusters", "case-markers", "heat"):
        assert f'"{layer}"' in html, layer
    for api in ("/api/village-rates/", "/api/hotspots/", "/api/clusters/", "/api/cases/"):
        assert api in html, api


@pytest.mark.django_db
def test_the_planner_filters_come_back_from_a_link_escaped(staff):
    attack = '"><script>alert(1)</script>'
    html = staff.get(
        "/maps/planner/", {"category": "neighbour", "status": "open", "township": attack, "since": "2026-01-01"}
    ).content.decode()
    assert "<script>alert(1)</script>" not in html
    assert 'data-initial="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in html
    assert '<option value="neighbour" selected>' in html and '<option value="open" selected>' in html
    assert 'value="2026-01-01"' in html


@pytest.mark.django_db
@pytest.mark.parametrize(
    "role,scope,shown",
    [
        ("banner_admin", "", True),
        ("village_officer", "150622106202", True),
        ("township_officer", "150622106", True),
        ("grid_worker", "150622106202-001", False),
        ("field_staff", "", False),
        ("planner", "", False),
        ("mining_court", "", False),
    ],
)
def test_the_holder_search_is_offered_only_to_roles_that_see_holders(client, role, scope, shown):
    client.force_login(StaffFactory(role=role, scope_code=scope).user)
    html = client.get("/maps/field/").content.decode()
    assert ('id="lookup-holder"' in html) is shown


def test_map_modules_read_data_only_through_services():
    """maps/ builds pages and layers from what services return; SQL lives in services (DESIGN.md)."""
    import pathlib

    for module in pathlib.Path(__file__).resolve().parent.parent.joinpath("maps").glob("*.py"):
        text = module.read_text()
        assert "django.db" not in text and "cursor(" not in text, module.name


def test_the_court_maps_layer_names_are_english_when_it_is_chosen(staff):
    """Zoom-gated layer names were translated from a variable makemessages never saw: "涉矿地块" stayed Chinese."""
    staff.cookies["django_language"] = "en"
    html = staff.get("/maps/court/").content.decode()
    assert "Parcels touched by mining" in html and "涉矿地块" not in html and "Grid" in html
