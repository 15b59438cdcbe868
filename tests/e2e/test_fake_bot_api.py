"""The fake Bot API is only useful if it is as strict as Telegram: check that it is."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest
from bot_harness import TOKEN
from fake_bot_api import FakeBotApi, parse_html


@pytest.mark.parametrize(
    "bad",
    [
        "<b>unclosed",
        "<b>x</i>",
        "<script>x</script>",
        "a & b",
        "a > b",
        "<a>no href</a>",
        '<a href="https://x" title="t">x</a>',
        "<b/>",
        "&bogus;",
        "<span>x</span>",
    ],
)
def test_rejects_bad_html(bad: str) -> None:
    with pytest.raises(Exception, match=r"can't parse entities|wrong HTTP URL"):
        parse_html(bad)


def test_accepts_telegram_html() -> None:
    text = (
        "<b>a</b><i>b</i><blockquote>c &amp; &lt;d&gt; &quot;</blockquote>"
        '<a href="https://x.org/?a=1&amp;b=2">e</a>'
        '<span class="tg-spoiler">f</span>&#127881;'
    )
    assert parse_html(text) == 'abc & <d> "ef🎉'


async def call(
    api: FakeBotApi, method: str, token: str = TOKEN, **params: object
) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.post(f"{api.base_url}{token}/{method}", data=params, timeout=10)


async def test_strict_validation(api: FakeBotApi) -> None:
    r = await call(api, "getMe", token="123:wrong")
    assert r.status_code == 401 and r.json() == {
        "ok": False,
        "error_code": 401,
        "description": "Unauthorized",
    }
    r = await call(api, "sendMessage", chat_id="99", text="hi")
    assert r.status_code == 400 and r.json()["description"] == "Bad Request: chat not found"
    api.send_text(99, "hello")
    r = await call(api, "sendMessage", chat_id="99", text="x" * 4097)
    assert r.json()["description"] == "Bad Request: message is too long"
    r = await call(api, "sendMessage", chat_id="99", text="🎉" * 2049)  # 4098 UTF-16 units
    assert r.json()["description"] == "Bad Request: message is too long"
    r = await call(
        api, "sendMessage", chat_id="99", text="<b>" + "x" * 4096 + "</b>", parse_mode="HTML"
    )
    assert r.status_code == 200  # the limit counts visible text
    r = await call(api, "sendMessage", chat_id="99", text="<u>x", parse_mode="HTML")
    assert r.json()["description"].startswith("Bad Request: can't parse entities:")
    kb = {"inline_keyboard": [[{"text": "b", "callback_data": "x" * 65}]]}
    r = await call(api, "sendMessage", chat_id="99", text="k", reply_markup=json.dumps(kb))
    assert r.json()["description"] == "Bad Request: BUTTON_DATA_INVALID"
    r = await call(api, "sendMessage", chat_id="99", text="same")
    mid = r.json()["result"]["message_id"]
    r = await call(api, "editMessageText", chat_id="99", message_id=str(mid), text="same")
    assert "message is not modified" in r.json()["description"]
    r = await call(api, "answerCallbackQuery", callback_query_id="nope")
    assert r.status_code == 400
    r = await call(api, "unknownMethod")
    assert r.status_code == 404


async def test_fault_injection(api: FakeBotApi) -> None:
    api.inject("getMe", "retry_after", 1, 3)
    api.inject("getMe", "server_error", 1)
    r = await call(api, "getMe")
    assert r.status_code == 429 and r.json()["parameters"] == {"retry_after": 3}
    assert (await call(api, "getMe")).status_code == 500
    assert (await call(api, "getMe")).status_code == 200


async def test_long_poll_honours_timeout_wakes_on_update_and_close(api: FakeBotApi) -> None:
    t0 = time.monotonic()
    r = await call(api, "getUpdates", timeout="1")
    assert r.json()["result"] == [] and 0.9 < time.monotonic() - t0 < 2
    poll = asyncio.create_task(call(api, "getUpdates", timeout="30"))
    await asyncio.sleep(0.1)
    t0 = time.monotonic()
    uid = api.send_text(5, "hi")
    r = await poll
    assert time.monotonic() - t0 < 0.5 and r.json()["result"][0]["update_id"] == uid
    # offset confirms: the update is gone
    r = await call(api, "getUpdates", offset=str(uid + 1), timeout="0")
    assert r.json()["result"] == []
    parked = asyncio.create_task(call(api, "getUpdates", offset=str(uid + 1), timeout="30"))
    await asyncio.sleep(0.1)
    t0 = time.monotonic()
    await api.close()
    await parked
    assert time.monotonic() - t0 < 2
