"""Search: GET /api/search (JSON contract of DESIGN.md) and the /search results page."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("search", __name__)
