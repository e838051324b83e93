"""POST /bitrix24/events on real SQLite resources: every answer the portal (or anyone) can get."""

from __future__ import annotations

import io
import random
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from prometheus_client import REGISTRY
from werkzeug.test import TestResponse

from service.assembly.resources import Resources
from service.assembly.webwiring import web_parts
from service.web.app import create_app
from tests.web.conftest import FORM, TOKEN, sample

UPDATE = sample("ontaskupdate-webhook.form")
AFTER_ID = b"data%5BFIELDS_AFTER%5D%5BID%5D=691"
BEFORE_ID = b"data%5BFIELDS_BEFORE%5D%5BID%5D=691"


def post(client: FlaskClient, body: bytes, content_type: str | None = FORM) -> TestResponse:
    headers = {"Content-Type": content_type} if content_type else {}
    return client.post("/bitrix24/events", data=body, headers=headers)


def stored(resources: Resources) -> int:
    return len(resources.journal.find(limit=100_000))


def received(event: str, outcome: str) -> float:
    labels = {"event": event, "outcome": outcome}
    return REGISTRY.get_sample_value("b24rules_events_received_total", labels) or 0.0


def assert_one_line_error(response: TestResponse, code: int, *words: str) -> str:
    assert response.status_code == code, response.get_data(as_text=True)
    body = response.get_json()
    assert body["status"] == "error"
    reason = body["reason"]
    assert reason
    assert "\n" not in reason
    for word in words:
        assert word in reason, reason
    return str(reason)


def test_a_listened_event_is_stored_and_answered_queued_with_its_id(
    client: FlaskClient, resources: Resources
) -> None:
    before = received("ONTASKUPDATE", "queued")
    response = post(client, UPDATE)
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "queued"
    record = resources.journal.get(body["id"])
    assert record is not None
    assert (record.task_id, record.status) == (691, "pending")
    assert received("ONTASKUPDATE", "queued") == before + 1


def test_an_event_no_rule_listens_to_is_ignored_but_counted(
    client: FlaskClient, resources: Resources
) -> None:
    before = received("ONTASKDELETE", "ignored")
    response = post(client, sample("ontaskdelete-webhook.form"))  # the shipped rules have no ONTASKDELETE
    assert response.status_code == 200
    assert response.get_json()["status"] == "ignored"
    assert received("ONTASKDELETE", "ignored") == before + 1
    record = resources.journal.get(response.get_json()["id"])
    assert record is not None
    assert record.status == "ignored"  # kept for the record, never handed to a worker


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (UPDATE.replace(TOKEN.encode(), b"forgedforgedforgedforgedforged00"), "does not match"),
        (UPDATE.replace(b"&auth%5Bapplication_token%5D=" + TOKEN.encode(), b""), "missing"),
        (
            UPDATE.replace(b"auth%5Bapplication_token%5D=" + TOKEN.encode(), b"auth%5Bapplication_token%5D="),
            "missing",
        ),
    ],
    ids=["wrong token", "no token", "empty token"],
)
def test_bad_credentials_are_401_and_nothing_is_stored(
    client: FlaskClient, resources: Resources, body: bytes, reason: str
) -> None:
    before = received("ONTASKUPDATE", "unauthorized")
    assert_one_line_error(post(client, body), 401, "token", reason)
    assert stored(resources) == 0
    assert received("ONTASKUPDATE", "unauthorized") == before + 1


def test_a_wrong_member_id_is_401_when_one_is_configured(make_resources: Callable[..., Resources]) -> None:
    resources = make_resources(b24_member_id="ffffffffffffffffffffffffffffffff")
    client = create_app(web_parts(resources)).test_client()
    assert_one_line_error(post(client, UPDATE), 401, "member id")
    assert stored(resources) == 0


@pytest.mark.parametrize(
    ("body", "content_type", "words"),
    [
        (b'{"event":"ONTASKUPDATE"}', "application/json", ("content type", "application/json")),
        (UPDATE, None, ("content type",)),
        (UPDATE, "multipart/form-data; boundary=x", ("content type",)),
        (UPDATE.replace(AFTER_ID + b"&", b"").replace(BEFORE_ID + b"&", b""), FORM, ("task id", "missing")),
        (UPDATE.replace(AFTER_ID, b"data%5BFIELDS_AFTER%5D%5BID%5D=abc"), FORM, ("FIELDS_AFTER", "task id")),
        (UPDATE.replace(AFTER_ID, b"data%5BFIELDS_AFTER%5D%5BID%5D=-5"), FORM, ("task id",)),
        (UPDATE.replace(AFTER_ID, b"data%5BFIELDS_AFTER%5D%5BID%5D=0"), FORM, ("task id",)),
        (UPDATE.replace(b"ts=1766047124", b"ts=yesterday"), FORM, ("'ts'", "whole number")),
        (UPDATE + b"&data%5BFIELDS_AFTER%5D=plain", FORM, ("conflicts",)),
        (b"data%5BFIELDS_AFTER%5D=plain&" + UPDATE, FORM, ("conflicts",)),
        (UPDATE + b"&event%5Bx%5D=1", FORM, ("conflicts",)),
        (UPDATE.replace(b"event=ONTASKUPDATE", b"event=ONTASK%FFUPDATE"), FORM, ("UTF-8", "percent")),
        (b"event=\xff\xfe", FORM, ("UTF-8",)),
        (b"%%%&&&===", FORM, ("not a form",)),
        (UPDATE.replace(b"&ts=", b"&&ts="), FORM, ("not a form", "field 7")),
        (UPDATE.replace(b"event=ONTASKUPDATE", b"event=ON+TASK"), FORM, ("event",)),
        (UPDATE.replace(b"event=ONTASKUPDATE&", b""), FORM, ("'event'", "missing")),
    ],
    ids=[
        "json",
        "no content type",
        "multipart",
        "no task id",
        "non-numeric task id",
        "negative task id",
        "task id zero",
        "non-numeric ts",
        "plain after nested",
        "nested after plain",
        "event as a nested key",
        "percent-encoded bad utf-8",
        "raw bad utf-8",
        "not a form",
        "empty field",
        "not an event name",
        "no event",
    ],
)
def test_malformed_bodies_are_400_with_a_one_line_reason_and_nothing_stored(
    client: FlaskClient, resources: Resources, body: bytes, content_type: str | None, words: tuple[str, ...]
) -> None:
    before = received("unknown", "malformed")
    assert_one_line_error(post(client, body, content_type), 400, *words)
    assert stored(resources) == 0
    assert received("unknown", "malformed") == before + 1


def test_a_reason_never_quotes_a_field_value(client: FlaskClient) -> None:
    # parse_qsl's own message would quote this field, which here is the application token.
    reason = assert_one_line_error(post(client, UPDATE + b"&" + TOKEN.encode()), 400, "no '='")
    assert TOKEN not in reason


def test_a_body_over_64_kib_is_413(client: FlaskClient, resources: Resources) -> None:
    big = UPDATE + b"&pad=" + b"x" * (64 * 1024)
    assert_one_line_error(post(client, big), 413, "larger than")
    assert stored(resources) == 0


def test_a_chunked_body_over_64_kib_without_content_length_is_413_not_truncated(
    client: FlaskClient, resources: Resources
) -> None:
    # Without Content-Length, werkzeug cuts the stream at MAX_CONTENT_LENGTH silently; the sample's
    # fields come first, so a truncated body would still parse and be queued.
    def chunked(body: bytes) -> TestResponse:
        return client.post(
            "/bitrix24/events",
            input_stream=io.BytesIO(body),
            headers={"Content-Type": FORM, "Transfer-Encoding": "chunked"},
            environ_overrides={"wsgi.input_terminated": True},  # what gunicorn says for chunked bodies
        )

    assert_one_line_error(chunked(UPDATE + b"&pad=" + b"x" * (64 * 1024)), 413, "larger than")
    assert stored(resources) == 0
    small = chunked(UPDATE)
    assert small.status_code == 200
    assert small.get_json()["status"] == "queued"


def test_exactly_64_kib_is_accepted(client: FlaskClient) -> None:
    padding = 64 * 1024 - len(UPDATE) - len(b"&pad=")
    body = UPDATE + b"&pad=" + b"x" * padding
    assert len(body) == 64 * 1024
    assert post(client, body).status_code == 200


def test_503_when_the_database_is_gone(
    client: FlaskClient, resources: Resources, folders: tuple[Path, Path]
) -> None:
    resources.engine.dispose()
    shutil.rmtree(folders[1])
    before = received("ONTASKUPDATE", "unavailable")
    assert_one_line_error(post(client, UPDATE), 503, "unavailable")
    assert received("ONTASKUPDATE", "unavailable") == before + 1


def test_other_paths_and_methods_answer_json_not_html(client: FlaskClient) -> None:
    missing = client.get("/nowhere")
    wrong_method = client.get("/bitrix24/events")
    assert missing.status_code == 404
    assert wrong_method.status_code == 405
    for response in (missing, wrong_method):
        assert response.get_json()["status"] == "error"


# A body is built from pieces a fuzzer would try: the sample's own pairs, PHP-style keys, broken
# percent-escapes, odd bytes, huge numbers and repeated separators.
_KEYS = [
    b"event", b"ts", b"event_handler_id", b"data", b"auth", b"data%5BFIELDS_AFTER%5D%5BID%5D",
    b"data%5BFIELDS_BEFORE%5D%5BID%5D", b"data%5BFIELDS_AFTER%5D", b"data[FIELDS_AFTER][ID]", b"data[]",
    b"data[[x]]", b"auth%5Bapplication_token%5D", b"auth[application_token]", b"auth[member_id]",
    b"%5B", b"%5D", b"a]b", b"", b"x" * 300,
]  # fmt: skip
_VALUES = [
    b"691", b"0", b"-1", b"99999999999999999999999", b"1e3", b"undefined", TOKEN.encode(), b"ONTASKUPDATE",
    b"ontaskadd", b"%FF", b"%", b"%%", b"\xff\xfe", "задача".encode(), b"a=b", b"&", b"", b" ", b"\x00",
]  # fmt: skip
_CONTENT_TYPES = [FORM, FORM + "; charset=utf-8", "APPLICATION/X-WWW-FORM-URLENCODED", "text/plain", None, ""]


def random_body(rng: random.Random) -> bytes:
    pairs = UPDATE.split(b"&")
    rng.shuffle(pairs)
    pairs = pairs[: rng.randint(0, len(pairs))]
    for _ in range(rng.randint(0, 6)):
        pair = rng.choice(_KEYS) + rng.choice([b"=", b"", b"=="]) + rng.choice(_VALUES)
        pairs.insert(rng.randint(0, len(pairs)), pair)
    body = rng.choice([b"&", b"&&", b";"]).join(pairs) if rng.random() < 0.2 else b"&".join(pairs)
    if rng.random() < 0.2:
        body = bytes(rng.randrange(256) for _ in range(rng.randint(0, 200)))
    if rng.random() < 0.05:
        body += b"&pad=" + b"y" * rng.randint(60_000, 70_000)
    return body


def test_no_body_ever_gets_a_500(client: FlaskClient) -> None:
    rng = random.Random(7)  # seeded: a failure names a body that can be reproduced
    seen: set[int] = set()
    for attempt in range(600):
        body = random_body(rng)
        content_type = rng.choice(_CONTENT_TYPES)
        response = post(client, body, content_type)
        assert response.status_code in {200, 400, 401, 413}, (attempt, body[:300], content_type)
        answer = response.get_json()
        assert answer["status"] in {"queued", "ignored", "error"}, (attempt, answer)
        seen.add(response.status_code)
    assert seen == {200, 400, 401, 413}  # the generator reaches every kind of answer
