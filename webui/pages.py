"""The pages: a dispatcher's map of a region-day and an agent's route on a phone.

Pages are thin shells: they hold no data themselves and load everything through the JSON
API (`webui.api`) with the same authorisation a machine would get, so what a page can show
is exactly what the API lets its user see.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, url_for

from doorstep.outcomes import OUTCOMES
from webui.auth import page_roles
from webui.state import current_user

pages_bp = Blueprint("pages", __name__)


@pages_bp.get("/")
def index() -> Any:
    """Each role's home: the map for dispatchers and admins, the route for agents."""
    user = current_user()
    if user is None:
        return redirect(url_for("login.login"))
    if user.role == "agent":
        return redirect(url_for("pages.agent"))
    return redirect(url_for("pages.dispatch"))


@pages_bp.get("/dispatch")
@page_roles("admin", "dispatcher")
def dispatch() -> str:
    """The dispatcher's map: routes of a region-day, summary, publish, exports."""
    return render_template("dispatch.html")


@pages_bp.get("/agent")
@page_roles("agent")
def agent() -> str:
    """The agent's route for today, with the outcome form that works offline."""
    return render_template("agent.html", outcomes=OUTCOMES)
