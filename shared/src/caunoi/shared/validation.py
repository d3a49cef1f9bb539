"""What the request edge says about a body its model refused: one ``invalid`` error naming the field,
in Vietnamese (``message``) and English (``message_en``), every failing field in ``details``.

Two sources, one shape:

- pydantic's own checks (a missing field, a string too long, a date that is not one): their error
  *type* picks a Vietnamese sentence from :data:`VI` (filled in from the error's context, e.g. the
  maximum length); the English is pydantic's own message.
- a request model's own validators: they ``raise invalid(field, message, message_en)``, which
  names the field (relative to the model: a nested model's validator is placed under its parent's
  field by the edge) and says what is wrong in both languages. A plain ``ValueError`` still works,
  but reaches the clerk only as "Giá trị không hợp lệ" with its English text.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any, Final

from pydantic import ValidationError
from pydantic_core import ErrorDetails, PydanticCustomError

from caunoi.shared.errors import ValidationFailed

#: the error type of :func:`invalid`
INVALID: Final = "caunoi_invalid"
#: at most this many failing fields are listed in ``details``
MAX_LISTED: Final = 20

_DATE = "Phải là một ngày dạng YYYY-MM-DD"
_TIME = "Phải là giờ dạng HH:MM"
_DATETIME = "Phải là thời điểm dạng YYYY-MM-DDTHH:MM"
_NUMBER = "Phải là một số"
_OBJECT = "Phải là một đối tượng JSON"

#: pydantic's error types as a clerk reads them; ``{…}`` is filled in from the error's context
VI: Final[Mapping[str, str]] = {
    "missing": "Thiếu trường bắt buộc",
    "extra_forbidden": "Trường này không có trong lệnh",
    "string_type": "Phải là chuỗi ký tự",
    "string_unicode": "Phải là chuỗi ký tự",
    "string_too_short": "Cần ít nhất {min_length} ký tự",
    "string_too_long": "Tối đa {max_length} ký tự",
    "string_pattern_mismatch": "Không đúng định dạng",
    "enum": "Phải là một trong các giá trị: {expected}",
    "literal_error": "Phải là một trong các giá trị: {expected}",
    "bool_type": "Phải là đúng hoặc sai (true / false)",
    "bool_parsing": "Phải là đúng hoặc sai (true / false)",
    "int_type": "Phải là một số nguyên",
    "int_parsing": "Phải là một số nguyên",
    "int_parsing_size": "Số quá lớn",
    "int_from_float": "Phải là một số nguyên",
    "float_type": _NUMBER,
    "float_parsing": _NUMBER,
    "finite_number": "Phải là một số hữu hạn",
    "decimal_type": _NUMBER,
    "decimal_parsing": _NUMBER,
    "decimal_max_digits": "Tối đa {max_digits} chữ số",
    "decimal_max_places": "Tối đa {decimal_places} chữ số sau dấu phẩy",
    "decimal_whole_digits": "Tối đa {whole_digits} chữ số trước dấu phẩy",
    "fraction_type": "Phải là một phân số (ví dụ 2/3)",
    "fraction_parsing": "Phải là một phân số (ví dụ 2/3)",
    "greater_than": "Phải lớn hơn {gt}",
    "greater_than_equal": "Phải từ {ge} trở lên",
    "less_than": "Phải nhỏ hơn {lt}",
    "less_than_equal": "Tối đa là {le}",
    "multiple_of": "Phải là bội số của {multiple_of}",
    "too_short": "Cần ít nhất {min_length} mục",
    "too_long": "Tối đa {max_length} mục",
    "list_type": "Phải là một danh sách",
    "tuple_type": "Phải là một danh sách",
    "set_type": "Phải là một danh sách",
    "frozen_set_type": "Phải là một danh sách",
    "dict_type": _OBJECT,
    "model_type": _OBJECT,
    "model_attributes_type": _OBJECT,
    "date_type": _DATE,
    "date_parsing": _DATE,
    "date_from_datetime_parsing": _DATE,
    "date_from_datetime_inexact": _DATE,
    "date_past": "Ngày phải đã qua",
    "date_future": "Ngày phải chưa đến",
    "time_type": _TIME,
    "time_parsing": _TIME,
    "datetime_type": _DATETIME,
    "datetime_parsing": _DATETIME,
    "datetime_from_date_parsing": _DATETIME,
    "datetime_object_invalid": _DATETIME,
    "timezone_aware": "Thời điểm phải có múi giờ",
    "uuid_type": "Phải là một mã UUID",
    "uuid_parsing": "Phải là một mã UUID",
    "url_parsing": "Phải là một địa chỉ URL",
    "url_type": "Phải là một địa chỉ URL",
    "url_scheme": "Địa chỉ URL phải bắt đầu bằng {expected_schemes}",
    "none_required": "Trường này phải để trống",
    "union_tag_invalid": "Loại không hợp lệ: phải là một trong {expected_tags}",
    "union_tag_not_found": "Thiếu trường {discriminator}",
    "json_invalid": "Không phải JSON hợp lệ",
    "json_type": "Không phải JSON hợp lệ",
    "recursion_loop": "Dữ liệu lồng nhau quá sâu",
    "recursion_depth_exceeded": "Dữ liệu lồng nhau quá sâu",
}
#: any other type
VI_OTHER: Final = "Giá trị không hợp lệ"


def invalid(field: str | None, message: str, message_en: str) -> PydanticCustomError:
    """What a request model's own validator raises: ``field`` is the offending input, relative to
    the model the validator belongs to (None: the field the validator is attached to), ``message``
    in Vietnamese for the clerk, ``message_en`` in English."""
    return PydanticCustomError(INVALID, "{message_en}", {"field": field, "message": message, "message_en": message_en})


def _where(err: ErrorDetails) -> str | None:
    path = [str(p) for p in err["loc"]]
    ctx = err.get("ctx") or {}
    if err["type"] == INVALID and ctx.get("field"):
        path.append(str(ctx["field"]))
    return ".".join(path) or None


def _texts(err: ErrorDetails) -> tuple[str, str]:
    ctx: dict[str, Any] = dict(err.get("ctx") or {})
    if err["type"] == INVALID:
        return str(ctx["message"]), str(ctx["message_en"])
    en = err["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if err["type"] == "string_too_short" and ctx.get("min_length") == 1:
        return "Không được để trống", en
    template = VI.get(err["type"], VI_OTHER)
    if "expected" in ctx:
        ctx["expected"] = str(ctx["expected"]).replace(" or ", " hoặc ")
    try:
        return template.format(**ctx), en
    except (KeyError, IndexError, ValueError):
        return VI_OTHER, en


def validation_error(e: ValidationError) -> ValidationFailed:
    """Pydantic's refusal of a request body as the ``invalid`` error a clerk reads: the first
    failing field's ``field``, ``message`` and ``message_en``; each failing field in
    ``details["errors"]`` likewise."""
    listed = []
    for err in e.errors(include_url=False, include_input=False)[:MAX_LISTED]:
        vi, en = _texts(err)
        listed.append({"field": _where(err), "message": vi, "message_en": en})
    first = listed[0]
    return ValidationFailed(
        str(first["message"]),
        message_en=str(first["message_en"]),
        field=first["field"],
        details={"errors": listed},
    )


def require_order(start: date | None, end: date | None, end_field: str) -> None:
    """A request's date range: its end (named ``end_field``) on or after its start. For a model
    validator; nothing to check while either is missing."""
    if start is not None and end is not None and end < start:
        raise invalid(
            end_field,
            f"Ngày kết thúc {end:%d/%m/%Y} trước ngày bắt đầu {start:%d/%m/%Y}",
            f"{end_field} {end} is before the start {start}",
        )
