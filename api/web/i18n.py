"""The workbench's words, Chinese first, with English beside them."""

from __future__ import annotations

from typing import Literal

Lang = Literal["zh", "en"]
WORDS: dict[str, tuple[str, str]] = {
    "app": ("联动 · 散乱污企业整治", "Liandong · 散乱污 campaign"),
    "sign_in": ("登录", "Sign in"),
    "sign_out": ("退出", "Sign out"),
    "key": ("API 密钥", "API key"),
    "key_help": (
        "请输入本单位（或本人）的 API 密钥。密钥只用于登录，不会出现在地址栏或日志中。",
        "Your unit's (or your own) API key. It is used to sign in only and never appears "
        "in an address or a log.",
    ),
    "bad_key": ("密钥无效或已吊销", "The key is unknown or revoked"),
    "expired_form": ("表单已过期，请重新提交", "The form expired; please send it again"),
    "inbox": ("我的待办", "My inbox"),
    "case": ("企业", "Enterprise"),
    "town": ("镇街", "Town"),
    "duty": ("事项", "What is asked"),
    "assigned_by": ("交办单位", "Asked by"),
    "deadline": ("期限", "Deadline"),
    "colour": ("状态", "Light"),
    "kind": ("类别", "Kind"),
    "empty": ("暂无待办事项", "Nothing waits on your unit"),
    "counts": (
        "红灯 {red} · 黄灯 {yellow} · 绿灯 {green}",
        "red {red} · yellow {yellow} · green {green}",
    ),
    "green": ("正常", "in time"),
    "yellow": ("临期", "due soon"),
    "red": ("逾期", "overdue"),
    "task": ("任务", "task"),
    "order": ("工单", "order"),
    "acceptance": ("验收", "acceptance"),
    "supervision_notice": ("督办", "supervision notice"),
    "dispute": ("争议", "dispute"),
    "live": ("实时更新", "live"),
    "language": ("English", "中文"),
    "signed_in_as": ("当前单位", "Signed in as"),
    "submit": ("提交", "Submit"),
    "act": ("处理", "Act"),
}


def words(lang: Lang) -> dict[str, str]:
    index = 0 if lang == "zh" else 1
    return {key: pair[index] for key, pair in WORDS.items()}
