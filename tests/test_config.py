"""Settings from the environment: every wrong value stops start-up with one line that names the variable
and never repeats the value (it may be a secret)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from service.plumbing.settings import ConfigError, Settings, load_settings

WEBHOOK = "https://acme.bitrix24.com/rest/1/whcode9f8e7d6c/"
TOKEN = "apptoken-5b4a39c2d1e0f9a8"
DB_PASSWORD = "dbpass-7c6b5a4d3e2f"

# One wrong value per setting (each long and unusual enough to be found if it leaked into a message).
BAD_VALUES = {
    "B24_WEBHOOK_URL": "ftp://acme.bitrix24.com/rest/1/whcode9f8e7d6c/",
    "B24_DATABASE_URL": f"mysql://b24:{DB_PASSWORD}@db.example.com/b24",
    "B24_DRY_RUN": "perhaps-not-sure",
    "B24_RATE_LIMIT": "fast-please-9",
    "B24_RATE_BURST": "-500000",
    "B24_SWEEP_INTERVAL": "-900000",
    "B24_RESCAN_HOURS": "-48.000001",
    "B24_MAX_DELETIONS_PER_HOUR": "0.000001",
    "B24_LEASE_SECONDS": "2.0000001",
    "B24_RETRY_BASE_SECONDS": "-2.000001",
    "B24_EVENT_RETENTION_DAYS": "fortnight-days",
    "B24_AUDIT_RETENTION_DAYS": "-365000",
    "B24_LOG_FORMAT": "xml-please",
    "B24_LOG_LEVEL": "verbose-level",
    "B24_WORKERS": "65536",
    "SENTRY_DSN": "sentry-dsn-without-a-key-3f2e1d",
    "SENTRY_TRACES_SAMPLE_RATE": "1.5000001",
    "PORT": "8080808",
    "B24_UI_TOKEN": "short-uitok9",  # under 16 characters: too weak to guard the status page
    "B24_UI_COOKIE_SECURE": "secure-maybe-7",
    "B24_PUBLIC_URL": "ftp://public.example.com/b24rules-9e8d",
    "B24_OAUTH_URL": "oauth-server-not-a-url-7c6b",
    "B24_DELIVERY": "carrier-pigeon-5a4b",
}
# Settings any value is fine for (free text, a path, a secret compared as given).
ANY_VALUE = {
    "B24_APPLICATION_TOKEN",
    "B24_MEMBER_ID",
    "B24_RULES_DIR",
    "SENTRY_ENVIRONMENT",
    "SENTRY_RELEASE",
    # Application mode: checked together when it starts (test_application_mode_names_what_is_missing);
    # the encryption key's shape is checked by the sealer, which names B24_ENCRYPTION_KEY.
    "B24_APP_CLIENT_ID",
    "B24_APP_CLIENT_SECRET",
    "B24_ENCRYPTION_KEY",
}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No B24_*/SENTRY_*/PORT from the machine, and no `.env` (the working folder is empty)."""
    for name in list(os.environ):
        if name.startswith(("B24_", "SENTRY_")) or name == "PORT":
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_every_setting_has_a_bad_value_case_or_takes_any_value() -> None:
    # A new setting must add its case here, so its error message gets checked too.
    assert {name.upper() for name in Settings.model_fields} == set(BAD_VALUES) | ANY_VALUE


@pytest.mark.parametrize(("variable", "value"), sorted(BAD_VALUES.items()))
def test_a_bad_value_is_one_line_naming_the_variable_never_the_value(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv("B24_WEBHOOK_URL", WEBHOOK)
    monkeypatch.setenv("B24_APPLICATION_TOKEN", TOKEN)
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert message.startswith(f"{variable}: ")
    assert "\n" not in message
    for secret in (value, DB_PASSWORD, WEBHOOK, "whcode9f8e7d6c", TOKEN):
        assert secret not in message
    assert caught.value.__cause__ is None  # pydantic's own error (which quotes input) is not chained
    assert caught.value.__suppress_context__


def test_a_bad_value_in_a_dotenv_file_is_reported_the_same_way(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("B24_RATE_LIMIT=fast-please-9\n")
    with pytest.raises(ConfigError, match=r"^B24_RATE_LIMIT: ") as caught:
        load_settings()
    assert "fast-please-9" not in str(caught.value)


def test_defaults_start_without_a_portal_and_require_portal_names_what_is_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = load_settings()
    assert settings.b24_database_url == "sqlite:///var/b24rules.sqlite3"
    with pytest.raises(ConfigError, match=r"^B24_WEBHOOK_URL is not set"):
        settings.require_portal()
    monkeypatch.setenv("B24_WEBHOOK_URL", WEBHOOK)
    with pytest.raises(ConfigError, match=r"^B24_APPLICATION_TOKEN is not set"):
        load_settings().require_portal()
    monkeypatch.setenv("B24_APPLICATION_TOKEN", "   ")  # blank is the same as unset
    with pytest.raises(ConfigError, match=r"^B24_APPLICATION_TOKEN is not set"):
        load_settings().require_portal()


def test_secrets_stay_out_of_repr_and_str(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("B24_WEBHOOK_URL", WEBHOOK)
    monkeypatch.setenv("B24_APPLICATION_TOKEN", TOKEN)
    monkeypatch.setenv("B24_DATABASE_URL", f"postgresql://b24:{DB_PASSWORD}@db.example.com/b24")
    monkeypatch.setenv("SENTRY_DSN", "https://sentrykey1a2b3c@o1.ingest.sentry.io/2")
    monkeypatch.setenv("B24_UI_TOKEN", "uitoken-8d7c6b5a4f3e2d1c")
    settings = load_settings()
    shown = repr(settings) + str(settings)
    for secret in ("whcode9f8e7d6c", TOKEN, DB_PASSWORD, "sentrykey1a2b3c", "uitoken-8d7c6b5a4f3e2d1c"):
        assert secret not in shown
    assert settings.webhook_url == WEBHOOK
    assert settings.application_token == TOKEN


def test_values_are_normalised(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("B24_WEBHOOK_URL", WEBHOOK.rstrip("/"))
    monkeypatch.setenv("B24_DATABASE_URL", "postgres://u@h/db")
    monkeypatch.setenv("B24_MEMBER_ID", "  ")
    monkeypatch.setenv("SENTRY_DSN", "")
    settings = load_settings()
    assert settings.webhook_url == WEBHOOK
    assert settings.b24_database_url == "postgresql://u@h/db"
    assert settings.b24_member_id is None
    assert settings.sentry_dsn is None


def test_secrets_kept_with_a_trailing_newline_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """A Kubernetes Secret made with `echo` ends in a newline: the token must still match the portal's
    byte for byte, and the webhook URL still be the portal's URL (not `…/code/\\n/`)."""
    monkeypatch.setenv("B24_WEBHOOK_URL", WEBHOOK + "\n")
    monkeypatch.setenv("B24_APPLICATION_TOKEN", " t0ken-from-a-secret\n")
    settings = load_settings()
    assert settings.webhook_url == WEBHOOK
    assert settings.b24_application_token is not None
    assert settings.b24_application_token.get_secret_value() == "t0ken-from-a-secret"


@pytest.mark.parametrize(
    ("present", "missing"),
    [
        ({"B24_APP_CLIENT_ID": "local.abc"}, "B24_APP_CLIENT_SECRET"),
        ({"B24_APP_CLIENT_SECRET": "s3cr3t-client-secret-77"}, "B24_APP_CLIENT_ID"),
        (
            {"B24_APP_CLIENT_ID": "local.abc", "B24_APP_CLIENT_SECRET": "s3cr3t-client-secret-77"},
            "B24_ENCRYPTION_KEY",
        ),
        (
            {
                "B24_APP_CLIENT_ID": "local.abc",
                "B24_APP_CLIENT_SECRET": "s3cr3t-client-secret-77",
                "B24_ENCRYPTION_KEY": "k",
            },
            "B24_PUBLIC_URL",
        ),
    ],
)
def test_application_mode_names_what_is_missing(
    monkeypatch: pytest.MonkeyPatch, present: dict[str, str], missing: str
) -> None:
    for name, value in present.items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    assert settings.app_mode
    with pytest.raises(ConfigError) as caught:
        settings.require_portal()
    assert str(caught.value).startswith(missing)
    assert "s3cr3t-client-secret-77" not in str(caught.value)


def test_the_redactor_gets_every_secret_setting_and_the_database_password() -> None:
    from pydantic import SecretStr

    settings = load_settings(
        b24_webhook_url="https://acme.bitrix24.com/rest/1/whcode9f8e7d6c/",
        b24_application_token="apptoken-5b4a39c2d1e0f9a8",
        b24_database_url="postgresql://b24:p%40ss-w0rd-9@db:5432/b24",
        sentry_dsn="https://publickey123@o1.ingest.sentry.io/42",
    )
    secrets = settings.secret_values()
    for value in ("whcode9f8e7d6c", "apptoken-5b4a39c2d1e0f9a8", "p%40ss-w0rd-9", "p@ss-w0rd-9"):
        assert value in secrets
    assert "https://publickey123@o1.ingest.sentry.io/42" in secrets

    # libpq also takes the password as a query parameter of the URL.
    in_query = load_settings(b24_database_url="postgresql://b24@db/b24?sslmode=require&password=q%2Fpw-77")
    assert {"q%2Fpw-77", "q/pw-77"} <= set(in_query.secret_values())

    # Application mode's and the status page's secrets are SecretStr settings: included as they are.
    app_mode = load_settings(
        b24_app_client_secret="client-secret-3e2d1c",
        b24_encryption_key="encryption-key-9f8e7d",
        b24_ui_token="ui-token-5a4b3c2d1e0f",
    ).secret_values()
    for value in ("client-secret-3e2d1c", "encryption-key-9f8e7d", "ui-token-5a4b3c2d1e0f"):
        assert value in app_mode

    # A SecretStr setting added later is included without a change.
    class Later(Settings):
        b24_future_key: SecretStr | None = None

    assert "future-key-123456" in Later(b24_future_key=SecretStr("future-key-123456")).secret_values()
