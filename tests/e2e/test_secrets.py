"""No secret leaves the processes: a whole session (both sample kinds, a failing deletion reported to Sentry,
a broken rules reload, operator commands, bad start-ups) and then a scan of everything that came out."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import requests

from service.sandbox import SandboxServer, apply_config
from tests.e2e.commands import run_cli
from tests.e2e.harness import (
    FORM,
    NOT_ALLOWED,
    TOKEN,
    SentryReceiver,
    Service,
    running,
    sample,
    service_env,
    wait_for,
)

pytestmark = pytest.mark.slow

CODE = "wh5ecretc0de9q"  # the incoming webhook's code (user 7's)
ACCESS_TOKEN = "s6p6eclrvim6da22ft9ch94ekreb52lv"  # auth[access_token] of the app-mode sample
DB_PASSWORD = "pgpa55w0rd-8c7b6a"
SECRETS = (CODE, TOKEN, ACCESS_TOKEN, DB_PASSWORD)
BROKEN_RULE = """\
- name: broken-rule
  on: [ONTASKUPDATE]
  where:
    entry.secnds: 0
  action: delete
"""


class Outputs:
    """Everything that left the processes, by where it came from."""

    def __init__(self) -> None:
        self.texts: dict[str, str] = {}

    def http(self, label: str, response: requests.Response) -> requests.Response:
        self.texts[f"http {label} ({response.status_code})"] = response.text
        return response

    def command(self, label: str, done: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
        self.texts[f"cli {label} (exit {done.returncode})"] = done.stdout + done.stderr
        return done


# How long a step may take on a loaded 2-core CI machine (the worker process starts after the web
# answers, a rule reload is noticed on the next poll); each wait ends as soon as its condition holds.
LOADED = 90


def test_no_secret_reaches_logs_sentry_readyz_metrics_or_error_bodies(
    sandbox: SandboxServer, sentry: SentryReceiver, workdir: Path
) -> None:
    portal = sandbox.portal
    portal.add_webhook(7, CODE, admin=True)
    portal.create_task("webhook event", task_id=691, entries=[{"seconds": 0, "user_id": 1}])
    portal.create_task("app event", task_id=693, entries=[{"seconds": 0, "user_id": 7}, {"seconds": 90}])
    # The deletion on 691 is refused (a dead letter for Sentry); 693's goes through.
    refused = {**NOT_ALLOWED, "task_id": 691}
    apply_config(portal, {"faults": {"forced": {"task.elapseditem.delete": refused}}})
    env = service_env(workdir, sandbox.webhook_url_for(7, CODE), SENTRY_DSN=sentry.dsn, B24_LOG_LEVEL="DEBUG")
    service = Service(workdir, env)
    out = Outputs()

    with running(service):
        post_every_kind_of_event(service, out)
        wait_for(lambda: [e.seconds for e in portal.entries_of(693)] == [90], timeout=LOADED)
        wait_for(lambda: tagged(sentry, "task_id", "691"), timeout=LOADED)  # the refused deletion
        break_and_fix_rules(service, sentry, out)
        for path in ("/healthz", "/readyz", "/metrics", "/nowhere"):
            out.http(path, requests.get(service.url + path, timeout=10))
        run_operator_commands(service, out)
    start_with_bad_settings(service, out)
    out.texts["service log"] = service.logs()
    out.texts["sentry envelopes"] = b"".join(sentry.raw).decode(errors="replace")

    # The scan means something only if the session did what it was meant to.
    assert len(out.texts) >= 20
    assert "dead letter" in out.texts["service log"]
    assert "rules refused" in out.texts["service log"]
    assert len(sentry.events()) >= 2
    for where, text in out.texts.items():
        for secret in SECRETS:
            assert secret not in text, f"{secret[:4]}… found in {where}"


def post_every_kind_of_event(service: Service, out: Outputs) -> None:
    webhook, app = sample("ontaskupdate-webhook.form"), sample("ontaskupdate-app.form")
    assert ACCESS_TOKEN.encode() in app
    assert out.http("webhook sample", service.post_event(webhook)).status_code == 200
    assert out.http("app sample", service.post_event(app)).status_code == 200
    forged = app.replace(TOKEN.encode(), b"forgedforgedforgedforgedforged00")
    cases = {
        "forged token": (forged, FORM, 401),
        "json": (b'{"auth":{"access_token":"' + ACCESS_TOKEN.encode() + b'"}}', "application/json", 400),
        "token as a bare field": (app + b"&" + TOKEN.encode(), FORM, 400),
        "access token as a bare field": (webhook + b"&" + ACCESS_TOKEN.encode(), FORM, 400),
        "conflicting auth keys": (app + b"&auth=" + ACCESS_TOKEN.encode(), FORM, 400),
        "token as a key": (app + b"&" + TOKEN.encode() + b"%5Bx%5D=1&" + TOKEN.encode() + b"=2", FORM, 400),
        "bad utf-8": (app.replace(b"ONTASKUPDATE", b"\xff\xfe"), FORM, 400),
        "too large": (app + b"&pad=" + b"x" * (65 * 1024), FORM, 413),
    }
    for label, (body, content_type, code) in cases.items():
        assert out.http(label, service.post_event(body, content_type)).status_code == code, label


def break_and_fix_rules(service: Service, sentry: SentryReceiver, out: Outputs) -> None:
    broken = Path(service.env["B24_RULES_DIR"]) / "zz-broken.yaml"
    broken.write_text(BROKEN_RULE)
    degraded = wait_for(lambda: (r := requests.get(service.url + "/readyz", timeout=10)).json()["status"]
                        == "degraded" and r, timeout=LOADED)  # fmt: skip
    out.http("readyz degraded", degraded)
    # Each web process reloads the rules on its own 2 s check: the one that answered may be ahead.
    answers: list[requests.Response] = []

    def strict_refused() -> bool:
        answers.append(requests.get(service.url + "/readyz?strict=1", timeout=10))
        return answers[-1].status_code == 503

    wait_for(strict_refused, timeout=LOADED)
    out.http("readyz strict", answers[-1])
    wait_for(lambda: tagged(sentry, "kind", "rules"), timeout=LOADED)
    out.http("metrics while degraded", requests.get(service.url + "/metrics", timeout=10))
    out.command("check broken rules", run_cli(service, "check", check=False))
    broken.unlink()
    wait_for(
        lambda: requests.get(service.url + "/readyz?strict=1", timeout=10).status_code == 200, timeout=LOADED
    )


def run_operator_commands(service: Service, out: Outputs) -> None:
    commands = [["audit"], ["audit", "--json"], ["simulate", "--task", "691"], ["simulate", "--task", "693"]]
    commands += [["replay", "--failed"], ["sweep", "--since", "1h"]]
    for args in commands:
        out.command(" ".join(args), run_cli(service, *args, check=False))


def start_with_bad_settings(service: Service, out: Outputs) -> None:
    bad = {
        "B24_WEBHOOK_URL": ("serve", f"https://acme.bitrix24.com/rest/1/{CODE}/extra/"),
        "B24_APPLICATION_TOKEN": ("web", ""),
        "SENTRY_DSN": ("worker", f"https://{CODE}:{TOKEN}"),
        "B24_DATABASE_URL": ("worker", f"postgresql://b24:{DB_PASSWORD}@127.0.0.1:1/b24"),  # nothing listens
    }
    bad_scheme = ("audit", f"mysql://b24:{DB_PASSWORD}@127.0.0.1/b24")
    for label, (command, value) in [*bad.items(), ("B24_DATABASE_URL", bad_scheme)]:
        done = out.command(
            f"{command} with a bad {label}", run_cli(service, command, check=False, **{label: value})
        )
        assert done.returncode != 0, label
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr  # one line ...
        assert label in done.stderr, done.stderr  # ... naming the variable


def tagged(sentry: SentryReceiver, tag: str, value: str) -> bool:
    return any(event.get("tags", {}).get(tag) == value for event in sentry.events())
