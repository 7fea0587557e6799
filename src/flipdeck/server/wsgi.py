"""Provides the one module-level app, for gunicorn (``flipdeck.server.wsgi:app``).

The configuration is read from the environment when gunicorn loads this module; no database
connection is made until a request needs one.
"""

from flipdeck.server.app import create_app
from flipdeck.server.config import Config

app = create_app(Config.from_env())
