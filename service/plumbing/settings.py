"""Settings from the environment (and an optional `.env`), validated once at start-up.

Names are the product contract (design §1). A missing or wrong setting stops start-up with one line
naming the variable; secret values are `SecretStr` and never appear in messages, logs or repr.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal
from urllib.parse import unquote

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from service.core.redaction import webhook_secrets

WEBHOOK_URL_SHAPE = re.compile(r"^https?://[^/\s]+(?::\d+)?/rest/\d+/[^/\s]+/?$")
MIN_UI_TOKEN_CHARS = 16
SENTRY_DSN_SHAPE = re.compile(r"^https?://[^@/\s]+@[^/\s]+/(?:[^\s]*/)?\d+/?$")


class ConfigError(Exception):
    """A setting is missing or wrong; the message is one line naming the variable, never its value."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    b24_webhook_url: SecretStr | None = None
    b24_application_token: SecretStr | None = None
    b24_member_id: str | None = None
    b24_rules_dir: Path = Path("rules")
    # Not in repr: a PostgreSQL URL carries its password.
    b24_database_url: str = Field(default="sqlite:///var/b24rules.sqlite3", repr=False)
    b24_dry_run: bool = False
    b24_rate_limit: float = Field(default=2.0, gt=0, le=1000)
    b24_rate_burst: int = Field(default=50, ge=1, le=10000)
    b24_sweep_interval: int = Field(default=900, ge=0)
    # Each sweep re-reads the time entries created in the last this-many hours to catch entries edited
    # in place (an edit fires no event); 0 turns the rescan off.
    b24_rescan_hours: float = Field(default=48.0, ge=0, le=24 * 90)
    b24_max_deletions_per_hour: int = Field(default=500, ge=1)
    # How long a worker's claim on a task lasts without a heartbeat: after a crash (kill -9, lost node)
    # another worker takes the task once it runs out. Heartbeats renew it every third of it.
    b24_lease_seconds: float = Field(default=120.0, ge=3, le=3600)
    # First retry delay of a transiently failed evaluation; it doubles per attempt (see core/backoff.py).
    b24_retry_base_seconds: float = Field(default=2.0, gt=0, le=600)
    b24_event_retention_days: int = Field(default=14, ge=1)
    b24_audit_retention_days: int = Field(default=365, ge=1)
    b24_log_format: Literal["json", "text"] = "json"
    b24_log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    b24_workers: int = Field(default=2, ge=1, le=64, description="gunicorn worker processes for `web`")
    sentry_dsn: SecretStr | None = None
    sentry_environment: str | None = None
    sentry_release: str | None = None
    sentry_traces_sample_rate: float = Field(default=0.0, ge=0, le=1)
    port: int = Field(default=8080, ge=1, le=65535)
    # The status page under /ui: off unless a sign-in token is set (design: "Wave 2 additions").
    b24_ui_token: SecretStr | None = None
    # The sign-in cookie's `Secure` flag: keep it on wherever the page is reached over HTTPS (an Ingress
    # terminating TLS forwards plain HTTP, so the request's own scheme cannot tell). Off only for plain
    # http on a laptop or loopback (the browser test), where a Secure cookie would not be sent back.
    b24_ui_cookie_secure: bool = True
    # Application mode (docs/deploy.md "Install as an application"): setting the client id and secret
    # turns it on; tokens are sealed with the encryption key; events are bound to B24_PUBLIC_URL.
    b24_app_client_id: str | None = None
    b24_app_client_secret: SecretStr | None = None
    b24_encryption_key: SecretStr | None = None
    b24_public_url: str | None = None
    b24_delivery: Literal["online", "offline"] = "online"
    b24_oauth_url: str | None = None

    @field_validator("b24_webhook_url")
    @classmethod
    def _webhook_shape(cls, value: SecretStr | None) -> SecretStr | None:
        url = value.get_secret_value().strip() if value is not None else ""
        if not url:
            return None
        if not WEBHOOK_URL_SHAPE.fullmatch(url):
            raise ValueError("must look like https://PORTAL/rest/<user id>/<webhook code>/")
        return SecretStr(url if url.endswith("/") else url + "/")

    @field_validator("b24_database_url")
    @classmethod
    def _database_scheme(cls, value: str) -> str:
        if not value.startswith(("sqlite://", "postgresql://", "postgresql+psycopg://", "postgres://")):
            raise ValueError("must start with sqlite:// or postgresql://")
        if value.startswith("postgres://"):
            return "postgresql://" + value.removeprefix("postgres://")
        return value

    @field_validator("b24_public_url", "b24_oauth_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if not re.match(r"^https?://[^/\s]+(/[^\s]*)?$", value.strip()):
            raise ValueError("must be an http(s) URL")
        return value.strip()

    @field_validator("b24_application_token", "sentry_dsn", "b24_app_client_secret", "b24_encryption_key")
    @classmethod
    def _blank_is_none(cls, value: SecretStr | None) -> SecretStr | None:
        # Surrounding whitespace is no part of a secret: a Kubernetes Secret made with `echo` ends in a
        # newline, and an application token kept with it would refuse every genuine event as forged.
        text = value.get_secret_value().strip() if value is not None else ""
        return SecretStr(text) if text else None

    @field_validator("b24_ui_token")
    @classmethod
    def _ui_token_strength(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        if len(value.get_secret_value().strip()) < MIN_UI_TOKEN_CHARS:
            raise ValueError(f"must be at least {MIN_UI_TOKEN_CHARS} characters (it guards the status page)")
        return SecretStr(value.get_secret_value().strip())

    @field_validator("sentry_dsn")
    @classmethod
    def _sentry_dsn_shape(cls, value: SecretStr | None) -> SecretStr | None:
        # Checked here so a typo stops start-up naming SENTRY_DSN, not as a bare BadDsn from the SDK.
        if value is not None and not SENTRY_DSN_SHAPE.match(value.get_secret_value().strip()):
            raise ValueError("must look like https://PUBLIC_KEY@HOST/PROJECT_ID")
        return value

    @field_validator("b24_member_id", "sentry_environment", "sentry_release", "b24_app_client_id")
    @classmethod
    def _blank_text_is_none(cls, value: str | None) -> str | None:
        return value.strip() if value and value.strip() else None

    @property
    def webhook_url(self) -> str | None:
        return self.b24_webhook_url.get_secret_value() if self.b24_webhook_url else None

    @property
    def application_token(self) -> str | None:
        return self.b24_application_token.get_secret_value() if self.b24_application_token else None

    @property
    def ui_token(self) -> str | None:
        return self.b24_ui_token.get_secret_value() if self.b24_ui_token else None

    @property
    def app_mode(self) -> bool:
        """Application mode: installed portals with OAuth instead of one webhook (B24_APP_CLIENT_ID set)."""
        return self.b24_app_client_id is not None or self.b24_app_client_secret is not None

    @property
    def offline_delivery(self) -> bool:
        """Application mode pulling the portals' offline queues (B24_DELIVERY=offline)."""
        return self.app_mode and self.b24_delivery == "offline"

    def require_application(self) -> None:
        """What application mode needs; raise ConfigError naming the first setting missing."""
        if self.b24_app_client_id is None:
            raise ConfigError("B24_APP_CLIENT_ID is not set: the local application's client id")
        if self.b24_app_client_secret is None:
            raise ConfigError("B24_APP_CLIENT_SECRET is not set: the local application's client secret")
        if self.b24_encryption_key is None:
            raise ConfigError("B24_ENCRYPTION_KEY is not set: the key that seals portal tokens at rest")
        if self.b24_delivery == "online" and self.b24_public_url is None:
            raise ConfigError("B24_PUBLIC_URL is not set: our base URL, for the portals' event handlers")

    def secret_values(self) -> list[str]:
        """Every secret this process holds, for the redactor: the value of each `SecretStr` setting (a
        setting added later as `SecretStr` is included without a change here), the webhook's code, and
        the database URL's password as written and decoded."""
        values: list[str] = []
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr) and value.get_secret_value():
                secret = value.get_secret_value()
                # A list of keys (B24_ENCRYPTION_KEY during a rotation) is masked key by key as well.
                values += [secret, *(part.strip() for part in secret.split(",") if part.strip())]
        values.extend(webhook_secrets(self.webhook_url))
        values.extend(database_secrets(self.b24_database_url))
        return values

    def require_webhook(self) -> None:
        """What REST calls need (simulate, sweep, restore read or write the portal but receive no events)."""
        if self.b24_webhook_url is None:
            raise ConfigError("B24_WEBHOOK_URL is not set: the incoming-webhook URL used for REST calls")

    def require_portal(self) -> None:
        """The settings a real portal needs; raise ConfigError naming the first one missing."""
        if self.app_mode:
            self.require_application()
            return
        self.require_webhook()
        if self.b24_application_token is None:
            raise ConfigError("B24_APPLICATION_TOKEN is not set: the outgoing webhook's application token")


def database_secrets(url: str) -> list[str]:
    """The password of a database URL, as written (percent-encoded) and as the driver receives it: in
    its userinfo (`postgresql://user:pw@host/db`) or its query (`?password=pw`, which libpq takes too)."""
    written = [
        *re.findall(r"^[a-z0-9+]+://[^/@:]*:([^@/]*)@", url, re.IGNORECASE),
        *re.findall(r"[?&]password=([^&#]*)", url, re.IGNORECASE),
    ]
    return [form for value in written if value for form in (value, unquote(value))]


def load_settings(**overrides: object) -> Settings:
    """Read and validate the settings, or raise ConfigError with one line naming the variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        first = error.errors(include_input=False, include_url=False)[0]
        name = "_".join(str(part) for part in first["loc"]).upper() or "settings"
        raise ConfigError(f"{name}: {first['msg']}") from None
