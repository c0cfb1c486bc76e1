"""Web UI pages (French): home with the search form, plan browser."""
from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint("ui", __name__, static_folder="static", static_url_path="/static")


@bp.get("/")
def home():
    return render_template("home.html")


@bp.get("/plan")
def plan():
    from kg.browse import plan_tree

    from search_api.resources import get_store

    return render_template("plan.html", tree=plan_tree(get_store()))
