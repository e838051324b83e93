"""The ``/_sandbox`` control API, for tests and demos that run the sandbox in another process.

Endpoints (JSON in, JSON out):
  GET    /_sandbox/                     this list
  POST   /_sandbox/tasks                {id?, title?, status?, created_by?, responsible_id?, group_id?,
                                         tags?: [str], accomplices?: [int], auditors?: [int],
                                         entries?: [{seconds, user_id?, comment?, created_date?,
                                         timer?}], notify?} → 201 task; fires ONTASKADD
  GET    /_sandbox/tasks/<id>           task (REST shape), entries, history
  DELETE /_sandbox/tasks/<id>           fires ONTASKDELETE
  POST   /_sandbox/tasks/<id>/status    {status: 2..6 | start|pause|complete|approve|renew|defer|review,
                                         user_id?, notify?}; fires ONTASKUPDATE
  POST   /_sandbox/tasks/<id>/entries   {seconds, user_id?, comment?, created_date?, timer?} → 201 entry
                                         (no event; timer: as the task timer writes it when stopped)
  GET    /_sandbox/tasks/<id>/entries   the task's entries (REST shape)
  POST   /_sandbox/webhooks             {user_id, code, admin?, scopes?: [str] (default ["task"])}
  GET    /_sandbox/stats                counters: http.by_status, calls.by_method[_status], dropped
  GET    /_sandbox/requests             request log (?method=…&limit=…), params in arrival order
  GET    /_sandbox/messages             task comments and system notifications posted (?task_id=…)
  GET    /_sandbox/config               current settings
  POST   /_sandbox/config               {rate?, burst?, operating_limit?, method_time?, method_times?,
                                         elapsed_page_cap?,
                                         seed?, faults?: {error_rate, error_statuses, latency,
                                         timeout_rate, hang_seconds, reset_rate, lost_answer_rate,
                                         fail_all_for, fail_all_status,
                                         forced: {method: {code, status?, description?, count?,
                                                           task_id?} | null}}}
  POST   /_sandbox/reset                forget data, counters, faults (limits settings stay)
  GET    /_sandbox/events/targets       registered event handlers
  POST   /_sandbox/events/targets       {url, handler_id?, application_token?, member_id?, domain?,
                                         app?: {access_token, expires_in?, scope?, status?, user_id?}}
  DELETE /_sandbox/events/targets       remove all handlers
  POST   /_sandbox/events/send          {event, task_id, ts?} → deliveries to every target
  GET    /_sandbox/app                  the local application: client id, installed, bindings, refreshes
  POST   /_sandbox/app                  {client_id?, client_secret?, token_ttl?} configure it
  POST   /_sandbox/app/install          {url, form?: event|page, user_id?} → the install call's answer
  POST   /_sandbox/app/open         {url, user_id?} a user opens the app: its page form posted to url
                                         with that user's token (user 1 is an administrator; 503 is not)
  POST   /_sandbox/app/uninstall        ONAPPUNINSTALL to its handlers; tokens and bindings are gone
  POST   /_sandbox/app/expire           every access token expires now (refresh tokens stay)
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, request

from . import install
from .faults import ForcedError
from .portal import Portal
from .sender import AppAuth, EventSender, EventTarget

PORTAL_KEYS = ("rate", "burst", "operating_limit", "method_time", "method_times", "elapsed_page_cap")


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), status=status, mimetype="application/json")


def apply_config(portal: Portal, data: dict[str, Any]) -> None:
    """Apply a control-API config document (also usable in-process)."""
    portal.configure(**{k: data[k] for k in PORTAL_KEYS if k in data})
    with portal.lock:
        if "seed" in data:
            portal.faults.reseed(data["seed"])
        faults = data.get("faults") or {}
        cfg = portal.faults.config
        for key in (
            "error_rate",
            "error_statuses",
            "latency",
            "timeout_rate",
            "hang_seconds",
            "reset_rate",
            "lost_answer_rate",
            "fail_all_status",
        ):
            if key in faults:
                setattr(cfg, key, faults[key])
        if "fail_all_for" in faults:
            cfg.fail_all_until = portal.clock() + float(faults["fail_all_for"])
        for name, spec in (faults.get("forced") or {}).items():
            if spec is None:
                cfg.forced.pop(name.lower(), None)
                continue
            cfg.forced[name.lower()] = ForcedError(
                spec["code"], spec.get("status"), spec.get("description"), spec.get("count"),
                spec.get("task_id"),
            )  # fmt: skip


def describe_config(portal: Portal) -> dict[str, Any]:
    cfg = portal.config
    return {**{k: getattr(cfg, k) for k in PORTAL_KEYS}, "faults": portal.faults.describe()}


def task_view(portal: Portal, task_id: int) -> dict[str, Any] | None:
    task = portal.get_task(task_id)
    if task is None:
        return None
    history = [
        {"id": h.id, "createdDate": h.created_date.isoformat(), "field": h.field, "from": h.value_from,
         "to": h.value_to, "user_id": h.user_id}
        for h in portal.history_of(task_id)
    ]  # fmt: skip
    entries = [e.rest() for e in portal.entries_of(task_id)]
    return {"task": task.rest(["*", "TAGS"]), "entries": entries, "history": history}


def control_blueprint(portal: Portal, sender: EventSender) -> Blueprint:
    bp = Blueprint("sandbox_control", __name__, url_prefix="/_sandbox")

    def body() -> dict[str, Any]:
        data = request.get_json(silent=True)
        return data if isinstance(data, dict) else {}

    def notify(data: dict[str, Any], event: str, task_id: int) -> list[dict[str, Any]]:
        if not data.get("notify", True):
            return []
        return [d.as_dict() for d in sender.send(event, task_id)]

    @bp.get("/")
    def index() -> Response:
        return Response(__doc__ or "", mimetype="text/plain")

    @bp.post("/tasks")
    def create_task() -> Response:
        data = body()
        try:
            task = portal.create_task(
                str(data.get("title", "Sandbox task")), task_id=data.get("id"), status=data.get("status", 2),
                created_by=int(data.get("created_by", 1)), responsible_id=int(data.get("responsible_id", 1)),
                group_id=int(data.get("group_id", 0)), tags=data.get("tags", ()),
                entries=data.get("entries", ()), accomplices=data.get("accomplices", ()),
                auditors=data.get("auditors", ()),
            )  # fmt: skip
        except (ValueError, TypeError, KeyError) as exc:
            return _json({"error": str(exc)}, 400)
        return _json(
            {**(task_view(portal, task.id) or {}), "events": notify(data, "ONTASKADD", task.id)}, 201
        )

    @bp.get("/tasks/<int:task_id>")
    def get_task(task_id: int) -> Response:
        view = task_view(portal, task_id)
        return _json(view, 200) if view else _json({"error": "no such task"}, 404)

    @bp.delete("/tasks/<int:task_id>")
    def delete_task(task_id: int) -> Response:
        portal.delete_task(task_id)
        return _json({"deleted": task_id, "events": notify(body(), "ONTASKDELETE", task_id)})

    @bp.post("/tasks/<int:task_id>/status")
    def set_status(task_id: int) -> Response:
        data = body()
        try:
            portal.set_status(task_id, data["status"], user_id=int(data.get("user_id", 1)))
        except (KeyError, ValueError) as exc:
            return _json({"error": f"bad status request: {exc}"}, 400)
        return _json({**(task_view(portal, task_id) or {}), "events": notify(data, "ONTASKUPDATE", task_id)})

    @bp.route("/tasks/<int:task_id>/entries", methods=["GET", "POST"])
    def entries(task_id: int) -> Response:
        if portal.get_task(task_id) is None:
            return _json({"error": "no such task"}, 404)
        if request.method == "GET":
            return _json([e.rest() for e in portal.entries_of(task_id)])
        data = body()
        entry = portal.add_entry(
            task_id, int(data.get("seconds", 0)), user_id=int(data.get("user_id", 1)),
            comment=str(data.get("comment", "")), created_date=data.get("created_date"),
            timer=bool(data.get("timer", False)),
        )  # fmt: skip
        return _json(entry.rest(), 201)

    @bp.post("/webhooks")
    def webhooks() -> Response:
        data = body()
        hook = portal.add_webhook(
            int(data["user_id"]), str(data["code"]), admin=bool(data.get("admin")),
            scopes=data.get("scopes", ("task",)),
        )  # fmt: skip
        return _json({"user_id": hook.user_id, "code": hook.code, "admin": hook.admin,
                      "scopes": list(hook.scopes)}, 201)  # fmt: skip

    @bp.get("/stats")
    def stats() -> Response:
        with portal.lock:
            return _json(portal.stats.summary())

    @bp.get("/requests")
    def requests_log() -> Response:
        log = portal.calls(request.args.get("method"))
        limit = request.args.get("limit", type=int)
        return _json(log[-limit:] if limit else log)

    @bp.get("/messages")
    def messages() -> Response:
        task_id = request.args.get("task_id", type=int)
        with portal.lock:
            rows = [m for m in portal.messages if task_id is None or m["task_id"] == task_id]
        return _json(rows)

    @bp.route("/config", methods=["GET", "POST"])
    def config() -> Response:
        if request.method == "POST":
            try:
                apply_config(portal, body())
            except (KeyError, TypeError, ValueError) as exc:
                return _json({"error": f"bad config: {exc}"}, 400)
        return _json(describe_config(portal))

    @bp.post("/reset")
    def reset() -> Response:
        portal.reset()
        return _json({"reset": True})

    @bp.route("/events/targets", methods=["GET", "POST", "DELETE"])
    def targets() -> Response:
        if request.method == "POST":
            data = body()
            app = data.get("app")
            sender.targets.append(
                EventTarget(
                    str(data["url"]), int(data.get("handler_id", 17)),
                    str(data.get("application_token", portal.config.application_token)),
                    str(data.get("member_id", portal.config.member_id)),
                    str(data.get("domain", portal.config.domain)), AppAuth(**app) if app else None,
                )
            )  # fmt: skip
        elif request.method == "DELETE":
            sender.targets.clear()
        return _json(
            [{"url": t.url, "handler_id": t.handler_id, "app": t.app is not None} for t in sender.targets]
        )

    @bp.route("/app", methods=["GET", "POST"])
    def application() -> Response:
        app = portal.app
        if request.method == "POST":
            data = body()
            with app.lock:
                app.client_id = str(data.get("client_id", app.client_id))
                app.client_secret = str(data.get("client_secret", app.client_secret))
                app.token_ttl = float(data.get("token_ttl", app.token_ttl))
        with app.lock:
            bindings = [vars(b).copy() for b in app.bindings]
            return _json({"client_id": app.client_id, "installed": app.installed, "bindings": bindings,
                          "refreshes": app.refreshes, "token_ttl": app.token_ttl})  # fmt: skip

    @bp.post("/app/install")
    def app_install() -> Response:
        data = body()
        form = str(data.get("form", "event"))
        return _json(install.install(portal, str(data["url"]), request.host_url, form=form,
                                     user_id=int(data.get("user_id", 1))))  # fmt: skip

    @bp.post("/app/open")
    def app_open() -> Response:
        data = body()
        return _json(install.open_app(portal, str(data["url"]), request.host_url,
                                      user_id=int(data.get("user_id", 1))))  # fmt: skip

    @bp.post("/app/uninstall")
    def app_uninstall() -> Response:
        return _json({"deliveries": install.uninstall(portal)})

    @bp.post("/app/expire")
    def app_expire() -> Response:
        with portal.app.lock:
            for grant in portal.app.access.values():
                grant.expires_at = min(grant.expires_at, portal.clock())
        return _json({"expired": len(portal.app.access)})

    @bp.post("/events/send")
    def send_event() -> Response:
        data = body()
        done = sender.send(str(data.get("event", "ONTASKUPDATE")), int(data["task_id"]), data.get("ts"))
        return _json({"deliveries": [d.as_dict() for d in done]})

    return bp
