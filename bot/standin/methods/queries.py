"""Callback and inline queries: answerCallbackQuery, answerInlineQuery."""

from __future__ import annotations

from typing import Any, Final

from bot.standin.records import (
    INLINE_RESULTS_LIMIT,
    MESSAGE_LIMIT,
    BotEvent,
    CallbackAnswer,
    InlineAnswer,
    bad,
)
from bot.standin.state import StandinState
from bot.standin.validation import check_reply_markup, format_text
from bot.standin.wire import Params

_QUERY_TOO_OLD: Final = "query is too old and response timeout expired or query ID is invalid"
_INLINE_RESULT_TYPES: Final = frozenset(
    {
        "article", "photo", "gif", "mpeg4_gif", "video", "audio", "voice", "document",
        "location", "venue", "contact", "game", "sticker",
    }
)  # fmt: skip


class QueryMethods(StandinState):
    """Answers to button presses and inline queries."""

    def _api_answerCallbackQuery(self, p: Params) -> bool:
        query_id = p.text("callback_query_id") or ""
        chat_id = self._open_callback_queries.pop(query_id, None)
        if chat_id is None:
            raise bad(_QUERY_TOO_OLD)
        text = p.text("text")
        if text is not None and len(text) > 200:
            self._open_callback_queries[query_id] = chat_id
            raise bad("MESSAGE_TOO_LONG")
        answer = CallbackAnswer(
            query_id=query_id,
            text=text,
            show_alert=p.flag("show_alert"),
            url=p.text("url"),
            cache_time=p.integer("cache_time") or 0,
        )
        self.callback_answers[query_id] = answer
        self._emit(BotEvent("callback_answer", chat_id, callback_answer=answer))
        return True

    def _api_answerInlineQuery(self, p: Params) -> bool:
        query_id = p.text("inline_query_id") or ""
        if query_id not in self._open_inline_queries:
            raise bad(_QUERY_TOO_OLD)
        results = p.obj("results", "can't parse inline query results JSON object")
        if not isinstance(results, list):
            raise bad("can't parse inline query results JSON object")
        if len(results) > INLINE_RESULTS_LIMIT:
            raise bad("RESULTS_TOO_MUCH")
        seen: set[str] = set()
        for result in results:
            self._check_inline_result(result, seen)
        next_offset = p.text("next_offset")
        if next_offset is not None and len(next_offset.encode("utf-8")) > 64:
            raise bad("NEXT_OFFSET_INVALID")
        self._open_inline_queries.discard(query_id)
        self.inline_answers[query_id] = InlineAnswer(
            query_id=query_id,
            results=results,
            cache_time=p.integer("cache_time"),
            is_personal=p.flag("is_personal"),
            next_offset=next_offset,
            params=p.values,
        )
        return True

    def _check_inline_result(self, result: Any, seen: set[str]) -> None:
        if not isinstance(result, dict):
            raise bad("can't parse InlineQueryResult: InlineQueryResult must be an Object")
        result_id = result.get("id")
        if not isinstance(result_id, str) or not 0 < len(result_id.encode("utf-8")) <= 64:
            raise bad("RESULT_ID_INVALID")
        if result_id in seen:
            raise bad("RESULT_ID_DUPLICATE")
        seen.add(result_id)
        kind = result.get("type")
        if kind not in _INLINE_RESULT_TYPES:
            raise bad("RESULT_TYPE_INVALID")
        if "reply_markup" in result:
            markup = check_reply_markup(result["reply_markup"])
            if markup is None or "inline_keyboard" not in markup:
                raise bad("inline keyboard expected")
        content = result.get("input_message_content")
        if kind == "article":
            title = result.get("title")
            if not isinstance(title, str) or not title.strip():
                raise bad("RESULT_TITLE_EMPTY")
            if not isinstance(content, dict):
                raise bad(
                    "can't parse InlineQueryResultArticle: "
                    'Can\'t find field "input_message_content"'
                )
        if isinstance(content, dict) and "message_text" in content:
            text = content.get("message_text")
            format_text(
                text if isinstance(text, str) else None,
                content.get("parse_mode"),
                content.get("entities"),
                limit=MESSAGE_LIMIT,
                users=self._users,
            )
