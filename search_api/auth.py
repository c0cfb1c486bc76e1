"""Logins, sessions and CSRF (blueprint "auth"): the session cookie and its secret key,
`/connexion`, `/deconnexion` and `/api/session`, `/api/login`, `/api/logout`.

The session cookie is HttpOnly and SameSite=Lax. A state-changing request carries the session's
CSRF token: the `csrf_token` field of a form, or the `X-CSRF-Token` header of an API call.
Failed logins are rate-limited per user name and IP address. Users live in `kg.users`
(`{data_dir}/users.sqlite`), never in the graph.
"""
from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import defaultdict, deque
from functools import wraps
from pathlib import Path
from urllib.parse import urlparse

from flask import Blueprint, current_app, g, jsonify, redirect, render_template, request, session, url_for

from ontology.errors import Forbidden, NotAuthenticated, TooManyAttempts
from kg.users import UserStore
from search_api.handlers import status_of
from search_api.resources import stored_secret

bp = Blueprint("auth", __name__)
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


# --- app setup: session cookie and secret key ------------------------------------------------

@bp.record_once
def _setup(state) -> None:
    app = state.app
    settings = app.config["HPKG"]
    app.secret_key = settings["secret_key"] or stored_secret(Path(settings["data_dir"]))
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax")
    app.extensions.setdefault("hpkg_auth", {"failures": defaultdict(deque), "lock": threading.Lock()})


def _settings() -> dict:
    return current_app.config["HPKG"]


def _users() -> UserStore:
    cache = current_app.extensions["hpkg"]
    if "users" not in cache:
        cache["users"] = UserStore(_settings()["data_dir"])
    return cache["users"]


def _is_api() -> bool:
    return request.path.startswith("/api/")


# --- sessions, CSRF, rate limit ----------------------------------------------------------------

def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


@bp.app_context_processor
def _template_globals():
    return {"csrf_token": csrf_token, "current_user": session.get("user")}


def check_csrf() -> None:
    sent = request.headers.get("X-CSRF-Token") or request.form.get("csrf_token") or ""
    expected = session.get("csrf") or ""
    if not expected or not hmac.compare_digest(sent, expected):
        raise Forbidden("Jeton CSRF absent ou invalide : rechargez la page et recommencez.")


def login_required(view):
    """Editors and admins only; CSRF checked on every state-changing request."""
    @wraps(view)
    def wrapped(*args, **kwargs):
        name = session.get("user")
        user = _users().get(name) if name else None
        if user is None or not user.can_edit:
            session.pop("user", None)
            if _is_api():
                raise NotAuthenticated("Connexion requise : connectez-vous avec un compte éditeur.")
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        if request.method in WRITE_METHODS:
            check_csrf()
        g.user = user
        return view(*args, **kwargs)

    return wrapped


def _rate_limited(name: str) -> bool:
    state = current_app.extensions["hpkg_auth"]
    key = (name.lower(), request.remote_addr or "")
    with state["lock"]:
        window = state["failures"].get(key, deque())
        while window and window[0] < time.monotonic() - 60:
            window.popleft()
        if not window:
            state["failures"].pop(key, None)  # forget quiet keys: the table stays small
        return len(window) >= _settings()["login_attempts_per_minute"]


def _record_failure(name: str) -> None:
    state = current_app.extensions["hpkg_auth"]
    with state["lock"]:
        state["failures"][(name.lower(), request.remote_addr or "")].append(time.monotonic())


def _authenticate(name: str, password: str):
    check_csrf()
    if _rate_limited(name):
        raise TooManyAttempts("Trop de tentatives de connexion : réessayez dans une minute.")
    user = _users().authenticate(name, password)
    if user is None:
        _record_failure(name)
        raise NotAuthenticated("Identifiant ou mot de passe incorrect.")
    session.clear()  # a fresh session (and CSRF token) at each login: no session fixation
    session["user"] = user.name
    session["role"] = user.role
    return user


def _safe_next(target: str | None) -> str:
    """Only local paths: a login link must not send the user to another site."""
    # a backslash counts: browsers read `/\evil.example` as `//evil.example`
    if (target and target.startswith("/") and not target.startswith("//") and "\\" not in target
            and not urlparse(target).netloc):
        return target
    return url_for("links.project_list")


@bp.route("/connexion", methods=["GET", "POST"])
def login():
    error, status = None, 200
    if request.method == "POST":
        name = request.form.get("name", "").strip()
        try:
            _authenticate(name, request.form.get("password", ""))
            return redirect(_safe_next(request.args.get("next")))
        except (Forbidden, NotAuthenticated, TooManyAttempts) as failure:
            error, status = failure.message, status_of(failure)
    return render_template("login.html", error=error, next=request.args.get("next", "")), status


@bp.post("/deconnexion")
def logout():
    check_csrf()
    session.clear()
    return redirect(url_for("links.project_list"))


@bp.get("/api/session")
def api_session():
    return jsonify({"user": session.get("user"), "role": session.get("role"), "csrf_token": csrf_token()})


@bp.post("/api/login")
def api_login():
    body = request.get_json(silent=True)
    body = body if isinstance(body, dict) else {}  # a JSON list or string: no name, no password
    user = _authenticate(str(body.get("name", "")), str(body.get("password", "")))
    return jsonify({"ok": True, "user": user.name, "role": user.role, "csrf_token": csrf_token()})


@bp.post("/api/logout")
def api_logout():
    check_csrf()
    session.clear()
    return jsonify({"ok": True})
