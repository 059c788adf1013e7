"""Forms generated from the command models: each field of a command becomes a labelled
control, what is posted is validated by the very model the REST API takes, and every
refusal (a field's rule, or the domain's) is shown beside the field it names."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from enum import Enum
from typing import Annotated, Any, Literal, get_args, get_origin
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ValidationError
from pydantic.fields import FieldInfo

from domain.errors import DomainError
from domain.validation_zh import message_zh

DISTRICT_TIME = timezone(timedelta(hours=8), "Asia/Shanghai")
Control = Literal["text", "textarea", "number", "checkbox", "select", "datetime", "date", "group"]
LABELS: dict[str, tuple[str, str]] = {
    "reason": ("理由", "Reason"),
    "reasons": ("原因（每行一条）", "Reasons (one per line)"),
    "document_number": ("文号", "Document number"),
    "deadline": ("期限", "Deadline"),
    "disposition": ("分类（三个一批）", "Disposition"),
    "agree": ("同意", "Agree"),
    "passed": ("验收通过", "Passed"),
    "note": ("说明", "Note"),
    "meter": ("表号", "Meter"),
    "reading": ("读数", "Reading"),
    "executed_at": ("执行时间", "Executed at"),
    "utility": ("供应单位", "Utility"),
    "kind": ("种类", "Kind"),
    "grounds": ("依据", "Grounds"),
    "respond_by": ("答复期限", "Respond by"),
    "answer": ("答复", "Answer"),
    "findings": ("发现情况", "Findings"),
    "relapse": ("已复产（回头看）", "Relapsed"),
    "approval_kind": ("审批类别", "Approval kind"),
    "application_ref": ("申请编号", "Application reference"),
    "task_id": ("任务编号", "Task"),
    "notice_id": ("督办编号", "Notice"),
    "receipt_id": ("回执编号", "Receipt id"),
    "planned_for": ("计划时间", "Planned for"),
    "units": ("参与单位", "Units"),
    "legal_basis": ("法律依据", "Legal basis"),
    "account": ("户号", "Account"),
    "address": ("地址", "Address"),
    "applicant": ("申请人", "Applicant"),
    "area": ("巡查区域", "Area"),
    "area_id": ("管控区编号", "Control area"),
    "changes": ("更正内容", "Changes"),
    "completed": ("已完成", "Completed"),
    "connections": ("供水供电供气户头", "Supply connections"),
    "contact": ("联系人", "Contact"),
    "corrects_version": ("更正的事件序号", "Corrects event"),
    "day": ("日期", "Day"),
    "day_kwh": ("日间用电量（千瓦时）", "Daytime kWh"),
    "description": ("描述", "Description"),
    "dispute_id": ("异议编号", "Dispute"),
    "equipment_cleared": ("设备已清除", "Equipment cleared"),
    "evidence": ("证据", "Evidence"),
    "flag_id": ("异常编号", "Flag"),
    "found_by_patrol": ("来源巡查编号", "Found by patrol"),
    "hearing_requested": ("申请听证", "Hearing requested"),
    "in_four_mountains": ("位于四山管控区", "Inside a 四山 control area"),
    "incident_id": ("事件编号", "Incident"),
    "industry": ("行业", "Industry"),
    "licensed": ("已办理营业执照", "Licensed"),
    "locator": ("存放位置", "Kept at"),
    "major": ("重大安全隐患", "Major hazard"),
    "media_type": ("文件类型", "Media type"),
    "name": ("企业名称", "Name"),
    "new_deadline": ("新期限", "New deadline"),
    "night_kwh": ("夜间用电量（千瓦时）", "Night-time kWh"),
    "operation_id": ("行动编号", "Operation"),
    "outcome": ("处理结果", "Outcome"),
    "park": ("园区", "Park"),
    "patrol_date": ("巡查日期", "Patrol date"),
    "permit": ("许可类别", "Permit"),
    "problem_id": ("问题编号", "Problem"),
    "problems": ("问题", "Problems"),
    "products_cleared": ("产品已清除", "Products cleared"),
    "raw_materials_cleared": ("原料已清除", "Raw materials cleared"),
    "readings": ("用量读数", "Readings"),
    "resolution": ("办理结果", "Resolution"),
    "responsible_unit": ("责任单位", "Responsible unit"),
    "resumed": ("确已恢复生产", "Production resumed"),
    "served_id": ("告知书编号", "Served notice"),
    "sha256": ("SHA-256 哈希", "SHA-256"),
    "statement": ("陈述申辩内容", "Statement"),
    "suggested_unit": ("建议责任单位", "Suggested unit"),
    "summary": ("概况", "Summary"),
    "threshold": ("提醒阈值", "Threshold"),
    "town": ("镇街", "Town"),
    "upheld": ("维持原决定", "Upheld"),
    "uscc": ("统一社会信用代码", "USCC"),
    "uscc_override_reason": ("校验豁免理由", "Check-digit override reason"),
    "water_and_power_cut": ("已断水断电", "Water and power cut"),
}


@dataclass
class FormField:
    name: str
    label: str
    control: Control
    required: bool
    value: str = ""
    options: list[tuple[str, str]] = field(default_factory=list)
    help: str = ""
    error: str | None = None
    many: bool = False  # a list: one entry per line
    # A list of records (evidence, problems, connections): rows of their own fields,
    # named `<name>.<row>.<field>`; blank rows are left out of what is posted.
    rows: list[list[FormField]] = field(default_factory=list)
    posted_rows: list[int] = field(default_factory=list)  # the row of each posted record


def _enum_of(annotation: Any) -> type[Enum] | None:
    for candidate in (annotation, *get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, Enum):
            return candidate
    return None


def _plain(annotation: Any) -> Any:
    """The type under Annotated[...] (kept inside an Optional)."""
    return get_args(annotation)[0] if get_origin(annotation) is Annotated else annotation


def _records(info: FieldInfo) -> type[BaseModel] | None:
    """The record type of a field holding a list of records (evidence, problems)."""
    annotation = info.annotation
    if get_origin(annotation) in (list, tuple):
        inner = [x for x in get_args(annotation) if x is not Ellipsis]
        if len(inner) == 1 and isinstance(inner[0], type) and issubclass(inner[0], BaseModel):
            return inner[0]
    return None


def _control(info: FieldInfo) -> tuple[Control, bool] | None:
    """The control for a field, and whether it holds many values; None: not in a form."""
    annotation = info.annotation
    origin = get_origin(annotation)
    args = [_plain(a) for a in get_args(annotation) if a is not type(None)]
    many = origin in (list, tuple) or any(get_origin(a) in (list, tuple) for a in args)
    if many:
        inner = [x for a in (args or [annotation]) for x in get_args(a) if x is not Ellipsis]
        if inner and all(_plain(x) is str or _enum_of(x) for x in inner):
            return "textarea", True
        return None
    simple = args[0] if args and origin is not Annotated else _plain(annotation)
    if simple is UUID:
        return "text", False
    if _enum_of(simple):
        return "select", False
    if simple is bool:
        return "checkbox", False
    if simple in (int, float):
        return "number", False
    if simple in (datetime, AwareDatetime) or (
        isinstance(simple, type) and issubclass(simple, datetime)
    ):
        return "datetime", False
    if simple is str:
        maximum = max((getattr(m, "max_length", 0) or 0 for m in info.metadata), default=0)
        return ("textarea" if maximum > 200 else "text"), False
    if getattr(simple, "__name__", "") == "date":
        return "date", False
    return None


# How many blank rows a form offers for a list of records.
ROWS = 3


def form_fields(
    model: type[BaseModel], lang: str, choices: dict[str, list[tuple[str, str]]] | None = None
) -> list[FormField]:
    """The fields of a command's form. `choices`: fields offered as a list (a town)."""
    fields = []
    for name, info in model.model_fields.items():
        record = _records(info)
        if record is not None:
            zh, en = LABELS.get(name, (name, name.replace("_", " ")))
            fields.append(
                FormField(
                    name=name,
                    label=zh if lang == "zh" else en,
                    control="group",
                    required=False,
                    help=info.description or "",
                    rows=[
                        [
                            FormField(**{**vars(f), "name": f"{name}.{row}.{f.name}"})
                            for f in form_fields(record, lang, choices)
                        ]
                        for row in range(ROWS)
                    ],
                )
            )
            continue
        found = _control(info)
        if found is None:
            continue
        control, many = found
        zh, en = LABELS.get(name, (name, name.replace("_", " ")))
        enum = _enum_of(info.annotation) or next(
            (e for a in get_args(info.annotation) if (e := _enum_of(a))), None
        )
        fields.append(
            FormField(
                name=name,
                label=zh if lang == "zh" else en,
                control=control,
                required=info.is_required(),
                options=[(str(m.value), str(m.value)) for m in enum] if enum else [],
                help=info.description or "",
                many=many,
            )
        )
        if choices and name in choices and control == "text":
            fields[-1].control, fields[-1].options = "select", choices[name]
    return fields


def posted_values(fields: list[FormField], form: dict[str, str]) -> dict[str, Any]:
    """The form as the command model takes it (blank optional fields left out; times
    read as Beijing time; blank rows of records left out)."""
    values: dict[str, Any] = {}
    for f in fields:
        if f.control == "group":
            f.posted_rows = []
            records = []
            for row, subfields in enumerate(f.rows):
                if not any(form.get(sub.name, "").strip() for sub in subfields):
                    for sub in subfields:
                        sub.value = ""
                    continue
                record = posted_values(subfields, form)
                records.append({k.rpartition(".")[2]: v for k, v in record.items()})
                f.posted_rows.append(row)
            if records:
                values[f.name] = records
            continue
        raw = form.get(f.name, "")
        f.value = raw
        if f.control == "checkbox":
            values[f.name] = raw == "on"
            continue
        if raw.strip() == "" and not f.required:
            continue
        if f.many:
            values[f.name] = [line.strip() for line in raw.splitlines() if line.strip()]
        elif f.control == "datetime" and raw:
            try:
                values[f.name] = datetime.fromisoformat(raw).replace(tzinfo=DISTRICT_TIME)
            except ValueError:
                values[f.name] = raw  # the model names the field and the rule
        else:
            values[f.name] = raw
    return values


def _field_at(fields: list[FormField], loc: tuple[Any, ...]) -> FormField | None:
    """The field an error's location names (a record's field: its row's)."""
    by_name = {f.name: f for f in fields}
    found = by_name.get(str(loc[0])) if loc else None
    if found is None or found.control != "group" or len(loc) < 3:
        return found
    index = loc[1]
    if not isinstance(index, int) or not 0 <= index < len(found.posted_rows):
        return found
    row = found.rows[found.posted_rows[index]]
    return next((sub for sub in row if sub.name.rpartition(".")[2] == str(loc[2])), found)


def errors_beside(
    fields: list[FormField], error: ValidationError | DomainError, lang: str
) -> str | None:
    """Puts each refusal beside its field; returns what belongs to no field."""
    by_name = {f.name: f for f in fields}
    general: list[str] = []
    if isinstance(error, ValidationError):
        for e in error.errors():
            where = ".".join(str(x) for x in e["loc"])
            text = message_zh(dict(e)) if lang == "zh" else str(e["msg"])
            target = _field_at(fields, tuple(e["loc"]))
            if target is not None:
                target.error = text if target.error is None else f"{target.error}；{text}"
            else:
                general.append(f"{where}: {text}" if where else text)
    else:
        text = error.message_zh if lang == "zh" else error.message
        if error.field in by_name:
            by_name[error.field].error = text
        else:
            general.append(text)
    return "；".join(general) if general else None
