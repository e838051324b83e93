"""The secret scrubber: known values, secret-shaped text we cannot know in advance, and nested data."""

from __future__ import annotations

import pytest

from service.core.redaction import MASK, Redactor, webhook_secrets

WEBHOOK = "https://acme.bitrix24.com/rest/1/whcode9f8e7d6c/"
TOKEN = "apptoken-5b4a39c2d1e0f9a8"
ACCESS = "s6p6eclrvim6da22ft9ch94ekreb52lv"


@pytest.fixture
def redactor() -> Redactor:
    return Redactor([*webhook_secrets(WEBHOOK), TOKEN])


def test_webhook_secrets_are_the_url_and_its_code() -> None:
    assert webhook_secrets(WEBHOOK) == [WEBHOOK, "whcode9f8e7d6c"]
    assert webhook_secrets(None) == []
    assert webhook_secrets("") == []


@pytest.mark.parametrize(
    "text",
    [
        f"POST {WEBHOOK}task.elapseditem.delete failed",
        "calling https://acme.bitrix24.com/rest/1/whcode9f8e7d6c/batch.json",
        "the code whcode9f8e7d6c alone",
        f"token={TOKEN} in a message",
    ],
)
def test_known_secret_values_are_masked_wherever_they_appear(redactor: Redactor, text: str) -> None:
    cleaned = redactor.text(text)
    assert "whcode9f8e7d6c" not in cleaned
    assert TOKEN not in cleaned
    assert MASK in cleaned


@pytest.mark.parametrize(
    "text",
    [
        f"auth[access_token]={ACCESS}&auth[expires]=3600",
        f"auth%5Baccess_token%5D={ACCESS}&auth%5Bexpires%5D=3600",
        f"AUTH%5BACCESS_TOKEN%5D={ACCESS}",
        f"refresh_token: {ACCESS}",
        f'{{"access_token": "{ACCESS}", "expires": 3600}}',
        f"{{'auth': {{'access_token': '{ACCESS}', 'domain': 'acme.bitrix24.com'}}}}",
        f"auth[application_token] = {ACCESS}",
        f"https://other.bitrix24.com/rest/7/{ACCESS}/task.item.list",
        f"postgresql://b24:{ACCESS}@db.example.com:5432/b24",
        # psycopg's connection string, as a frame local or an error shows it
        f"host=127.0.0.1 port=5432 user=postgres password={ACCESS} dbname=test",
        f"host=db password='{ACCESS}' dbname=b24",
        f"{{'password': '{ACCESS}', 'host': 'db'}}",
        f'"password": "{ACCESS}"',
        f"PGPASSWORD={ACCESS}",
        f"client_secret={ACCESS}&grant_type=refresh_token",
        f"refresh_token={ACCESS}&client_id=app",
        f"grant_type=refresh_token&refresh_token={ACCESS}",
        f"access_token={ACCESS}",
        f"auth[refresh_token]={ACCESS}",
        f"postgresql://b24:{ACCESS}@db:5432/b24?options=-csearch_path%3Dx",
        f"redis://:{ACCESS}@cache:6379/0",
        f"https://{ACCESS}@o1.ingest.sentry.io/42",
    ],
)
def test_secret_shaped_text_is_masked_without_knowing_the_value(text: str) -> None:
    cleaned = Redactor().text(text)
    assert ACCESS not in cleaned
    assert MASK in cleaned


@pytest.mark.parametrize(
    "text",
    [
        "task 691: 2 entries deleted by rule drop-zero-duration-entries",
        "https://apidocs.bitrix24.com/api-reference/tasks/elapsed-item/task-elapsed-item-delete.html",
        "auth[domain]=acme.bitrix24.com&auth[member_id]=a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5",
        "client_endpoint=https://acme.bitrix24.com/rest/",
        "sqlite:////var/lib/b24rules/b24rules.sqlite3",
    ],
)
def test_ordinary_text_is_left_alone(redactor: Redactor, text: str) -> None:
    assert redactor.text(text) == text


def test_short_values_are_not_treated_as_secrets() -> None:
    # A one-letter "secret" would mask every 'a' in every log line.
    assert Redactor(["a", "12345", None, ""]).text("a 12345 banana") == "a 12345 banana"


def test_the_longest_secret_is_masked_first() -> None:
    redactor = Redactor(["whcode9f8e7d6c", WEBHOOK])
    assert redactor.text(f"{WEBHOOK}batch") == f"{MASK}batch"


def test_data_walks_nested_structures_and_masks_secret_keys_outright(redactor: Redactor) -> None:
    event = {
        "tags": {"task_id": "691", "method": "task.elapseditem.delete"},
        "request": {"headers": {"Authorization": "Bearer abcdef123456", "Cookie": "session=xyz"}},
        "extra": {"webhook_url": "https://x/rest/", "password": b"raw-bytes", "sentry_dsn": "https://k@h/1"},
        "breadcrumbs": [{"message": f"posting to {WEBHOOK}"}, ("auth[access_token]=" + ACCESS,), 42, None],
        "ok": True,
    }
    cleaned = redactor.data(event)
    assert isinstance(cleaned, dict)
    assert cleaned["tags"] == event["tags"]
    assert cleaned["request"] == {"headers": {"Authorization": MASK, "Cookie": MASK}}
    assert cleaned["extra"] == {"webhook_url": MASK, "password": MASK, "sentry_dsn": MASK}
    crumbs = cleaned["breadcrumbs"]
    assert crumbs[0] == {"message": f"posting to {MASK}"}
    assert crumbs[1] == [f"auth[access_token]={MASK}"]
    assert crumbs[2:] == [42, None]
    assert cleaned["ok"] is True
    assert "whcode9f8e7d6c" not in repr(cleaned)
    assert ACCESS not in repr(cleaned)


def test_an_empty_value_under_a_secret_key_stays_empty(redactor: Redactor) -> None:
    # "not set" is useful to see; there is nothing to hide in it.
    assert redactor.data({"token": ""}) == {"token": ""}
