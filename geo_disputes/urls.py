"""URL map: plain path() routes; HTML pages and JSON API live under separate prefixes."""

from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog

from geo_disputes.api import ogc, tiles
from geo_disputes.views import accounts, dashboard, health, offline, report
from geo_disputes.views.home import home
from maps import views as map_views

# The admin login is throttled like /accounts/login/ (geo_disputes.services.ops.login_throttle).
admin.site.login_form = accounts.AdminLoginForm

urlpatterns = [
    path("", home, name="home"),
    # Public on purpose: monitors have no login; it answers a state, a time and a commit, no personal data.
    path("healthz", health.healthz, name="healthz"),
    # Public on purpose: the field app's service worker (at the root, so its scope covers the field page and the
    # intake form) and manifest hold no data, only the app shell's file names (views/offline.py).
    path("sw.js", offline.service_worker, name="service-worker"),
    path("manifest.webmanifest", offline.manifest, name="web-manifest"),
    path("offline/", offline.offline_page, name="offline-page"),
    path("admin/", admin.site.urls),
    path("accounts/", include(accounts)),
    # POST language=en|zh-hans switches the session's language (Django's set_language view).
    path("i18n/", include("django.conf.urls.i18n")),
    # The scripts' texts in the page's language (djangojs catalogue); no data in it, but behind the login like all.
    path("jsi18n/", login_required(JavaScriptCatalog.as_view()), name="javascript-catalog"),
    path("dashboard/", dashboard.dashboard, name="dashboard"),
    path("report/monthly/", report.monthly, name="report-monthly"),
    path("report/monthly.csv", report.monthly_csv, name="report-monthly-csv"),
    path("report/monthly.xlsx", report.monthly_xlsx, name="report-monthly-xlsx"),
    path("api/", include("geo_disputes.api.urls")),
    # Mapbox Vector Tiles of the areas and the cases (PostGIS ST_AsMVT), scope and masking as the API.
    path("tiles/<str:layer>/<int:z>/<int:x>/<int:y>.pbf", tiles.TileView.as_view(), name="tiles"),
    # OGC API – Features (GIS clients: QGIS, GDAL's OAPIF); token or session, the API's scope and masking.
    path("ogc", ogc.LandingView.as_view(), name="ogc-landing-bare"),
    path("ogc/", ogc.LandingView.as_view(), name="ogc-landing"),
    path("ogc/api", ogc.ApiDefinitionView.as_view(), name="ogc-api"),
    path("ogc/conformance", ogc.ConformanceView.as_view(), name="ogc-conformance"),
    path("ogc/collections", ogc.CollectionsView.as_view(), name="ogc-collections"),
    path("ogc/collections/<str:collection_id>", ogc.CollectionView.as_view(), name="ogc-collection"),
    path("ogc/collections/<str:collection_id>/items", ogc.ItemsView.as_view(), name="ogc-items"),
    path("ogc/collections/<str:collection_id>/items/<str:feature_id>", ogc.ItemView.as_view(), name="ogc-item"),
    path("maps/", include("maps.urls")),
    path("cases/<str:reference>/map.pdf", map_views.case_map_pdf, name="case-map-pdf"),
    path("", include("geo_disputes.views.urls")),
]

# Chinese error pages in the site's layout (views/errors.py; templates/403.html, 404.html, 500.html).
handler404 = "geo_disputes.views.errors.page_not_found"
handler500 = "geo_disputes.views.errors.server_error"
