"""WSGI entry point (gunicorn geo_disputes.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "geo_disputes.settings")
application = get_wsgi_application()
