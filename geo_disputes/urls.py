"""URL map: plain path() routes; HTML pages and JSON API live under separate prefixes."""

from django.contrib import admin
from django.urls import include, path

from geo_disputes.views.home import home

urlpatterns = [
    path("", home, name="home"),
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/", include("geo_disputes.api.urls")),
    path("", include("geo_disputes.views.urls")),
]
