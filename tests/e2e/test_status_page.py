"""The status page in a real headless Chromium against `b24rules serve` and the sandbox portal: sign in,
find a deletion on Audit with its trace and restore it, find a dead letter on Overview and replay it;
forged requests (no session, no CSRF token) change nothing. Screenshots of every page are saved
(into B24_UI_SCREENSHOTS, e.g. docs/ui, when set)."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from service.sandbox import SandboxServer
from service.sandbox.control import apply_config
from tests.e2e.browser import chromium, full_page_screenshot, require_chromium, screenshot_folder, submit
from tests.e2e.harness import Service, running, sample, service_env, wait_for
from tests.e2e.workload import FAST, database, event_form, rows

pytestmark = pytest.mark.slow

UI_TOKEN = "ui-token-9f8e7d6c5b4a3210"
OPERATOR = "Ann Operator"
SLIP = {"seconds": 0, "user_id": 5, "comment": "timer slip", "created_date": "2025-09-20T10:15:00+03:00"}
REAL = {"seconds": 3600, "user_id": 1, "comment": "real work", "created_date": "2025-09-21T09:00:00+03:00"}
DENIED = {"code": "ACCESS_DENIED", "status": 403, "description": "Access denied"}


def text_of(driver: WebDriver, css: str) -> str:
    return str(driver.find_element(By.CSS_SELECTOR, css).text)


def sign_in(driver: WebDriver, service: Service, shots: Path) -> None:
    driver.get(service.url + "/ui/")
    assert "/ui/sign-in" in driver.current_url  # nothing is shown before sign-in
    driver.find_element(By.ID, "name").send_keys(OPERATOR)
    driver.find_element(By.ID, "token").send_keys("not-the-token-at-all")
    submit(driver, driver.find_element(By.ID, "sign-in"))
    assert "not the one configured" in text_of(driver, "#problem")
    driver.find_element(By.ID, "name").clear()
    driver.find_element(By.ID, "name").send_keys(OPERATOR)
    driver.find_element(By.ID, "token").send_keys(UI_TOKEN)
    full_page_screenshot(driver, shots / "sign-in.png")
    submit(driver, driver.find_element(By.ID, "sign-in"))
    assert f"signed in as {OPERATOR}" in text_of(driver, "header .who")


def confirm_and_read_outcome(driver: WebDriver, shots: Path, name: str) -> str:
    full_page_screenshot(driver, shots / f"confirm-{name}.png")
    submit(driver, driver.find_element(By.ID, "confirm"))
    return text_of(driver, "#outcome") + "\n" + text_of(driver, "#detail")


def test_an_operator_restores_a_deletion_and_replays_a_dead_letter_from_the_browser(
    sandbox: SandboxServer, workdir: Path, tmp_path: Path
) -> None:
    require_chromium()
    shots = screenshot_folder(tmp_path / "screenshots")
    portal = sandbox.portal
    portal.create_task("Write report", task_id=691, status=3, entries=[SLIP, REAL])
    portal.create_task("Fix the printer", task_id=692, status=3, entries=[{**SLIP, "comment": "oops"}])
    env = service_env(
        workdir, sandbox.webhook_url, B24_UI_TOKEN=UI_TOKEN, B24_UI_COOKIE_SECURE="false", **FAST
    )
    service = Service(workdir, env)

    with running(service), chromium() as driver:
        # A zero-second entry is deleted by the shipped rule; then deletes are refused: a dead letter.
        assert service.post_event(sample("ontaskupdate-webhook.form")).json()["status"] == "queued"
        wait_for(lambda: [e.seconds for e in portal.entries_of(691)] == [3600], timeout=60)
        apply_config(portal, {"faults": {"forced": {"task.elapseditem.delete": DENIED}}})
        dead_id = int(service.post_event(event_form(692)).json()["id"])
        engine = database(service)
        wait_for(lambda: rows(engine, [dead_id])[0]["status"] == "dead", timeout=60)

        sign_in(driver, service, shots)

        # Audit: the deletion, the entry as it was, and the per-condition trace.
        driver.get(service.url + "/ui/audit?task=691")
        record = driver.find_element(By.CSS_SELECTOR, "article.record")
        record_id = record.get_attribute("id")
        assert record_id is not None
        audit_id = record_id.removeprefix("record-")
        shown = record.text
        assert "deleted" in shown
        assert "drop-zero-duration-entries" in shown
        assert "timer slip" in shown
        assert "where.entry.seconds" in text_of(driver, f"#record-{audit_id} table.trace")
        full_page_screenshot(driver, shots / "audit.png")

        # Restore it: a confirmation, then the entry is back in the portal.
        submit(driver, driver.find_element(By.ID, f"restore-{audit_id}"))
        outcome = confirm_and_read_outcome(driver, shots, "restore")
        assert "restored as entry" in outcome, outcome
        back = [e for e in portal.entries_of(691) if e.comment == "timer slip"]
        assert [(e.seconds, e.user_id) for e in back] == [(0, 5)]
        driver.get(service.url + "/ui/audit?task=691")
        assert "restored as entry" in text_of(driver, f"#record-{audit_id}")

        # Overview: the dead letter, with its error; the cause is fixed, then it is replayed.
        driver.get(service.url + "/ui/")
        assert "ACCESS_DENIED" in text_of(driver, f"tr.dead-letter[data-event='{dead_id}']")
        assert "Dead letters (1)" in text_of(driver, "#dead-letters h2")
        full_page_screenshot(driver, shots / "overview.png")
        apply_config(portal, {"faults": {"forced": {"task.elapseditem.delete": None}}})
        submit(driver, driver.find_element(By.ID, f"replay-{dead_id}"))
        outcome = confirm_and_read_outcome(driver, shots, "replay")
        assert "queued 1 event(s) again" in outcome, outcome
        wait_for(lambda: rows(engine, [dead_id])[0]["status"] == "done", timeout=60)
        assert portal.entries_of(692) == []

        # The other pages, and the record of who did what.
        for page, css in (("activity", "#events"), ("rules", "#rule-drop-zero-duration-entries")):
            driver.get(f"{service.url}/ui/{page}")
            assert driver.find_elements(By.CSS_SELECTOR, css), page
            full_page_screenshot(driver, shots / f"{page}.png")
        assert "pass" in text_of(driver, "#rule-drop-zero-duration-entries table.tests")
        driver.find_element(By.ID, "simulate-task").send_keys("691")
        submit(driver, driver.find_element(By.ID, "simulate-run"))
        report = driver.find_elements(By.ID, "simulate-report")
        assert report, text_of(driver, "#simulate")
        assert "read-only: nothing was deleted" in report[0].text
        full_page_screenshot(driver, shots / "simulate.png")
        driver.get(service.url + "/ui/actions")
        actions = text_of(driver, "#operator-actions")
        assert actions.count(f"{OPERATOR} (token)") == 2
        full_page_screenshot(driver, shots / "actions.png")

        # Forged requests: no CSRF token, a wrong one, no session at all — refused, nothing happens.
        cookie = {c["name"]: c["value"] for c in driver.get_cookies()}
        portal.create_task("Untouched", task_id=693, status=3, entries=[SLIP])
        forged = {"target": "all", "confirm": "yes"}
        before = len(portal.calls())
        assert (
            requests.post(f"{service.url}/ui/act/replay", data=forged, cookies=cookie, timeout=10).status_code
            == 403
        )
        wrong = {**forged, "csrf": "guessed"}
        assert (
            requests.post(f"{service.url}/ui/act/replay", data=wrong, cookies=cookie, timeout=10).status_code
            == 403
        )
        assert requests.post(f"{service.url}/ui/act/replay", data=forged, timeout=10).status_code == 401
        restore = {"target": audit_id, "confirm": "yes"}
        assert requests.post(f"{service.url}/ui/act/restore", data=restore, timeout=10).status_code == 401
        assert requests.get(f"{service.url}/ui/audit", timeout=10, allow_redirects=False).status_code == 302
        driver.get(service.url + "/ui/actions")
        assert text_of(driver, "#operator-actions").count(f"{OPERATOR} (token)") == 2
        assert len(portal.calls()) == before

    assert sorted(p.name for p in shots.glob("*.png")) == sorted(
        f"{name}.png"
        for name in (
            "sign-in", "audit", "confirm-restore", "overview", "confirm-replay",
            "activity", "rules", "simulate", "actions",
        )
    )  # fmt: skip
