"""WSGI entry point for a production server (gunicorn, uwsgi, mod_wsgi)."""

from __future__ import annotations

import logging
import os

from django.core.wsgi import get_wsgi_application

from twinai.console import PRODUCTION_SETTINGS

os.environ.setdefault("DJANGO_SETTINGS_MODULE", PRODUCTION_SETTINGS)
logging.basicConfig(
    level=os.environ.get("TWINAI_LOG_LEVEL", "INFO"),
    format="%(levelname)s %(name)s: %(message)s",
)
application = get_wsgi_application()
