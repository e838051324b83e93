"""Parsing the portal's form bodies: the four recorded samples, and what must never survive parsing."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.core.events import AuthVerdict, EventError, TaskEvent, parse_form, unflatten, verify_auth

SAMPLES = Path(__file__).resolve().parents[1] / "sandbox" / "samples"
FORM = "application/x-www-form-urlencoded"
TOKEN = "k3v9w2x8y7z6q5p4o3n2m1l0k9j8h7g6"
ACCESS_TOKEN = "s6p6eclrvim6da22ft9ch94ekreb52lv"  # in the app-mode sample only
MEMBER = "a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5"


def parsed(name: str) -> TaskEvent:
    return parse_form((SAMPLES / name).read_bytes(), FORM)


@pytest.mark.parametrize(
    ("name", "event", "task_id", "ts", "handler"),
    [
        ("ontaskadd-webhook.form", "ONTASKADD", 692, 1766047200, "16"),  # FIELDS_BEFORE=undefined
        ("ontaskupdate-webhook.form", "ONTASKUPDATE", 691, 1766047124, "17"),
        ("ontaskdelete-webhook.form", "ONTASKDELETE", 692, 1766047300, "18"),  # FIELDS_AFTER=undefined
        ("ontaskupdate-app.form", "ONTASKUPDATE", 693, 1766047400, "185"),
    ],
)
def test_every_sample_parses_to_its_event(name: str, event: str, task_id: int, ts: int, handler: str) -> None:
    parsed_event = parsed(name)
    assert parsed_event.public_fields() == {
        "event": event,
        "task_id": task_id,
        "ts": ts,
        "event_handler_id": handler,
        "domain": "acme.bitrix24.com",
        "member_id": MEMBER,
    }
    assert parsed_event.application_token == TOKEN


@pytest.mark.parametrize("name", sorted(p.name for p in SAMPLES.glob("*.form")))
def test_no_credential_is_in_what_may_be_stored_or_shown(name: str) -> None:
    event = parsed(name)
    shown = repr(event) + str(event.public_fields())
    assert TOKEN not in shown
    assert ACCESS_TOKEN not in shown


def test_the_app_sample_carries_an_access_token_that_parsing_drops() -> None:
    assert ACCESS_TOKEN.encode() in (SAMPLES / "ontaskupdate-app.form").read_bytes()
    assert ACCESS_TOKEN not in repr(vars(parsed("ontaskupdate-app.form")))


@pytest.mark.parametrize(
    "content_type", [FORM, FORM + "; charset=UTF-8", "Application/X-WWW-Form-Urlencoded ; charset=utf-8"]
)
def test_content_type_parameters_and_case_do_not_matter(content_type: str) -> None:
    body = (SAMPLES / "ontaskupdate-webhook.form").read_bytes()
    assert parse_form(body, content_type).task_id == 691


def test_event_names_are_upper_cased() -> None:
    body = (SAMPLES / "ontaskupdate-webhook.form").read_bytes().replace(b"ONTASKUPDATE", b"onTaskUpdate")
    assert parse_form(body, FORM).name == "ONTASKUPDATE"


def test_unflatten_builds_nested_php_keys_and_refuses_conflicts() -> None:
    assert unflatten([("a[b][c]", "1"), ("a[b][d]", "2"), ("e", "3")]) == {
        "a": {"b": {"c": "1", "d": "2"}},
        "e": "3",
    }
    with pytest.raises(EventError, match="conflicts with nested keys"):
        unflatten([("a[b]", "1"), ("a", "2")])
    with pytest.raises(EventError, match="conflicts with a plain value"):
        unflatten([("a", "2"), ("a[b]", "1")])
    with pytest.raises(EventError, match="malformed form key"):
        unflatten([("a]b[", "1")])
    with pytest.raises(EventError, match="malformed form key"):  # `$` would let the newline through
        unflatten([("auth[application_token]\n", "1")])


@pytest.mark.parametrize(
    ("token", "member", "verdict"),
    [
        (TOKEN, None, AuthVerdict.OK),
        (TOKEN, MEMBER, AuthVerdict.OK),
        ("another-token-another-token-0000", None, AuthVerdict.WRONG_TOKEN),
        (TOKEN, "ffffffffffffffffffffffffffffffff", AuthVerdict.WRONG_MEMBER),
    ],
)
def test_verify_auth(token: str, member: str | None, verdict: AuthVerdict) -> None:
    assert verify_auth(parsed("ontaskupdate-app.form"), token, member) is verdict


def _forge(secret: str, position: int) -> str:
    """`secret` with the character at `position` changed (still the same length and alphabet)."""
    swapped = "0" if secret[position] != "0" else "1"
    return secret[:position] + swapped + secret[position + 1 :]


# Forgeries that differ at the first, a middle and the last character, and the right value with
# whitespace added: a compare that only looks at a prefix, or strips, lets one of them through.
_FORGED = {
    "first character": _forge(TOKEN, 0),
    "middle character": _forge(TOKEN, len(TOKEN) // 2),
    "last character": _forge(TOKEN, len(TOKEN) - 1),
    "leading space": "%20" + TOKEN,
    "trailing space": TOKEN + "%20",
    "trailing newline": TOKEN + "%0A",
    "trailing plus (a space in forms)": TOKEN + "+",
    "tab inside": TOKEN[:16] + "%09" + TOKEN[16:],
}


@pytest.mark.parametrize("label", sorted(_FORGED))
def test_a_forged_application_token_is_refused(label: str) -> None:
    body = (SAMPLES / "ontaskupdate-app.form").read_bytes().replace(TOKEN.encode(), _FORGED[label].encode())
    assert body != (SAMPLES / "ontaskupdate-app.form").read_bytes()
    assert verify_auth(parse_form(body, FORM), TOKEN, MEMBER) is AuthVerdict.WRONG_TOKEN


@pytest.mark.parametrize(
    "member",
    [_forge(MEMBER, 0), _forge(MEMBER, len(MEMBER) // 2), _forge(MEMBER, len(MEMBER) - 1), MEMBER + "%20"],
)
def test_a_forged_member_id_is_refused(member: str) -> None:
    body = (SAMPLES / "ontaskupdate-app.form").read_bytes().replace(MEMBER.encode(), member.encode())
    assert verify_auth(parse_form(body, FORM), TOKEN, MEMBER) is AuthVerdict.WRONG_MEMBER


@pytest.mark.parametrize("raw", ["1%0A", "%201", "1%20", "+1", "01x", "1.0", "-1", "0", "%EF%BC%91"])
def test_task_ids_are_parsed_strictly(raw: str) -> None:
    body = f"event=ONTASKUPDATE&data%5BFIELDS_AFTER%5D%5BID%5D={raw}&auth%5Bdomain%5D=a".encode()
    with pytest.raises(EventError, match="not a task id"):
        parse_form(body, FORM)


@pytest.mark.parametrize("raw", ["1%0A", "%201", "1e3"])
def test_ts_is_parsed_strictly(raw: str) -> None:
    body = f"event=X&ts={raw}&data%5BFIELDS_AFTER%5D%5BID%5D=1&auth%5Bdomain%5D=a".encode()
    with pytest.raises(EventError, match="'ts' is not a whole number"):
        parse_form(body, FORM)


def test_an_event_without_a_token_is_refused_even_when_ours_is_empty() -> None:
    body = (SAMPLES / "ontaskadd-webhook.form").read_bytes().replace(TOKEN.encode(), b"")
    assert verify_auth(parse_form(body, FORM), "", None) is AuthVerdict.MISSING_TOKEN


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"x" * (64 * 1024 + 1), "larger than"),
        (b"event=ONTASKUPDATE&data%5BFIELDS_AFTER%5D=undefined&auth%5Bdomain%5D=a", "task id missing"),
        (b"event=ONTASKUPDATE&auth%5Bdomain%5D=a", "'data' is missing"),
        (b"event=ONTASKUPDATE&data%5BFIELDS_AFTER%5D%5BID%5D=1", "'auth' is missing"),
        (b"event=ONTASKUPDATE&data%5BFIELDS_AFTER%5D%5BID%5D=1&auth=x", "'auth' is missing"),
        (b"event%5B%5D=x&data%5BFIELDS_AFTER%5D%5BID%5D=1&auth%5Ba%5D=x", "plain value"),
        (b"event=ONTASKUPDATE&data%5BFIELDS_AFTER%5D%5BID%5D=1%2E5&auth%5Ba%5D=x", "not a task id"),
        (b"=".join([b"a"] * 3) + b"&" + b"&".join(b"k=v" for _ in range(600)), "more than 500 fields"),
        # Values the journal could not store (its columns hold 255; PostgreSQL refuses NUL) are 400s.
        (
            b"event=X&data%5BFIELDS_AFTER%5D%5BID%5D=1&auth%5Bdomain%5D=" + b"d" * 256,
            "'domain' is longer than 255",
        ),
        (b"event=X&data%5BFIELDS_AFTER%5D%5BID%5D=1&auth%5Bmember_id%5D=m%00", "'member_id' contains a NUL"),
        (
            b"event=X&event_handler_id=" + b"7" * 300 + b"&data%5BFIELDS_AFTER%5D%5BID%5D=1&auth%5Ba%5D=",
            "longer",
        ),
    ],
)
def test_malformed_bodies(body: bytes, message: str) -> None:
    with pytest.raises(EventError, match=message) as caught:
        parse_form(body, FORM)
    assert "\n" not in str(caught.value)


# Property: whatever arrives, parsing gives a TaskEvent or an EventError with a one-line reason, never
# another exception (which the web layer would have to turn into a 500).
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_KEYS = st.sampled_from(
    ["event", "ts", "data[FIELDS_AFTER][ID]", "data[FIELDS_BEFORE][ID]", "data[FIELDS_AFTER]", "data",
     "auth[application_token]", "auth", "auth[member_id]", "data[FIELDS_AFTER][ID][x]", "a[b", "]"]
)  # fmt: skip
_FORMS = st.lists(st.tuples(_KEYS, st.text(max_size=20)), max_size=12).map(
    lambda pairs: "&".join(f"{k}={v}" for k, v in pairs).encode()
)


@settings(max_examples=400, deadline=None)
@given(body=st.one_of(st.binary(max_size=300), _FORMS))
def test_any_body_parses_or_fails_with_a_one_line_reason(body: bytes) -> None:
    outcome: TaskEvent | EventError
    try:
        outcome = parse_form(body, "application/x-www-form-urlencoded")
    except EventError as error:
        outcome = error
    if isinstance(outcome, EventError):
        assert str(outcome)
        assert "\n" not in str(outcome)
    else:
        assert outcome.task_id > 0
