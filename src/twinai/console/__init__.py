"""The web console: a Django project for the operator and for remote users.

The operator (the "service provider") uploads datasets, trains and tests model
bundles, chooses the bundle that serves predictions, reads every prediction
and the share of each detection status, and authorises remote users. Remote
users register, wait for authorisation, then predict single connections or
whole captures and flow files through forms or the REST API.

The console holds no model code of its own: every capture, dataset, training
and prediction call goes through :mod:`twinai.console.services`, which calls
the same library functions as the CLI.
"""

from __future__ import annotations

__all__ = ["DEFAULT_SETTINGS", "PRODUCTION_SETTINGS"]

DEFAULT_SETTINGS = "twinai.console.settings"
PRODUCTION_SETTINGS = "twinai.console.settings_production"
