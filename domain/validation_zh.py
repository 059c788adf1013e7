"""A command's validation errors (pydantic's) in Chinese, by kind: the API's problem
responses, the workbench's forms and the ledger import's report say the same."""

from __future__ import annotations

from typing import Any

MESSAGE_ZH: dict[str, str] = {
    "missing": "必填",
    "extra_forbidden": "不是可接受的字段",
    "string_type": "须为文本",
    "string_too_short": "内容过短或为空",
    "string_too_long": "内容过长",
    "string_pattern_mismatch": "格式不符",
    "int_type": "须为整数",
    "int_parsing": "须为整数",
    "float_type": "须为数字",
    "float_parsing": "须为数字",
    "finite_number": "须为有限数字",
    "bool_type": "须为 true 或 false",
    "bool_parsing": "须为 true 或 false",
    "greater_than_equal": "数值过小",
    "less_than_equal": "数值过大",
    "enum": "不是可选值之一",
    "literal_error": "不是可选值之一",
    "uuid_type": "须为 UUID",
    "uuid_parsing": "须为 UUID",
    "datetime_type": "须为日期时间",
    "datetime_parsing": "须为日期时间（ISO 8601）",
    "datetime_from_date_parsing": "须为日期时间（ISO 8601）",
    "timezone_aware": "须带时区",
    "date_type": "须为日期",
    "date_parsing": "须为日期（YYYY-MM-DD）",
    "date_from_datetime_parsing": "须为日期（YYYY-MM-DD）",
    "list_type": "须为列表",
    "tuple_type": "须为列表",
    "too_short": "项目过少",
    "too_long": "项目过多",
    "dict_type": "须为对象",
    "model_type": "须为对象",
    "model_attributes_type": "须为对象",
    "json_invalid": "不是合法的 JSON",
    "value_error": "不合规",
}


def message_zh(error: dict[str, Any]) -> str:
    kind = str(error.get("type", ""))
    text = MESSAGE_ZH.get(kind)
    if text is None:
        return f"不合规（{error.get('msg', kind)}）"
    if kind == "value_error":  # our own rules: keep what they say, it names the rule
        return f"不合规：{str(error.get('msg', '')).removeprefix('Value error, ')}"
    return text
