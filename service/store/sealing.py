"""Tokens at rest: sealed with Fernet (AES-128-CBC + HMAC-SHA256, `cryptography`) under B24_ENCRYPTION_KEY.

No home-made crypto: Fernet authenticates what it encrypts, so a row tampered with in the database fails
to open instead of yielding a wrong token. Several keys may be given, comma-separated: the first seals,
every one of them opens (key rotation: put the new key first, re-seal by reinstalling or refreshing,
then drop the old one).
https://cryptography.io/en/latest/fernet/
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

KEY_HINT = (
    "a Fernet key (32 url-safe base64 bytes), e.g. from "
    "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
)


class SealError(ValueError):
    """A key is malformed, or a sealed value does not open with any key (never quotes either)."""


class Sealer:
    """Seals and opens short secrets (access, refresh and application tokens)."""

    def __init__(self, keys: str) -> None:
        parts = [part.strip() for part in keys.split(",") if part.strip()]
        if not parts:
            raise SealError(f"B24_ENCRYPTION_KEY is empty: need {KEY_HINT}")
        try:
            self._fernet = MultiFernet([Fernet(part.encode("ascii")) for part in parts])
        except (ValueError, UnicodeEncodeError):
            raise SealError(f"B24_ENCRYPTION_KEY is malformed: need {KEY_HINT}") from None

    def __repr__(self) -> str:
        return "Sealer(<keys hidden>)"

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode("utf-8")).decode("ascii")

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError):
            raise SealError(
                "a stored token does not open with B24_ENCRYPTION_KEY (wrong or rotated key?)"
            ) from None
