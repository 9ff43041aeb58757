"""Why a field was refused, in English and Lao: each error detail's `reason` (English, as before) and `localizedReason`
(the caller's language, chosen by Accept-Language like `localizedMessage`)."""
from fastapi.exceptions import RequestValidationError

# By pydantic error type: (English, Lao), formatted with the error's context (limits, expected values).
BY_TYPE = {
    "missing": ("required", "ຕ້ອງມີຂໍ້ມູນນີ້"),
    "id": ("required, and must be an id", "ຕ້ອງມີ ແລະ ຕ້ອງເປັນລະຫັດ (id) ທີ່ຖືກຕ້ອງ"),
    "string_type": ("must be text", "ຕ້ອງເປັນຂໍ້ຄວາມ"),
    "string_too_short": ("must have at least {min_length} characters", "ຕ້ອງມີຢ່າງໜ້ອຍ {min_length} ຕົວອັກສອນ"),
    "string_too_long": ("must have at most {max_length} characters", "ຕ້ອງມີບໍ່ເກີນ {max_length} ຕົວອັກສອນ"),
    "string_pattern_mismatch": ("must match the pattern {pattern}", "ຕ້ອງກົງກັບຮູບແບບ {pattern}"),
    "too_short": ("must have at least {min_length} items", "ຕ້ອງມີຢ່າງໜ້ອຍ {min_length} ລາຍການ"),
    "too_long": ("must have at most {max_length} items", "ຕ້ອງມີບໍ່ເກີນ {max_length} ລາຍການ"),
    "int_type": ("must be a whole number", "ຕ້ອງເປັນຈຳນວນຖ້ວນ"),
    "int_parsing": ("must be a whole number", "ຕ້ອງເປັນຈຳນວນຖ້ວນ"),
    "int_from_float": ("must be a whole number", "ຕ້ອງເປັນຈຳນວນຖ້ວນ"),
    "float_type": ("must be a number", "ຕ້ອງເປັນຕົວເລກ"),
    "float_parsing": ("must be a number", "ຕ້ອງເປັນຕົວເລກ"),
    "greater_than_equal": ("must be at least {ge}", "ຕ້ອງບໍ່ນ້ອຍກວ່າ {ge}"),
    "greater_than": ("must be more than {gt}", "ຕ້ອງຫຼາຍກວ່າ {gt}"),
    "less_than_equal": ("must be at most {le}", "ຕ້ອງບໍ່ເກີນ {le}"),
    "less_than": ("must be less than {lt}", "ຕ້ອງນ້ອຍກວ່າ {lt}"),
    "bool_type": ("must be true or false", "ຕ້ອງເປັນ true ຫຼື false"),
    "bool_parsing": ("must be true or false", "ຕ້ອງເປັນ true ຫຼື false"),
    "enum": ("must be one of {expected}", "ຕ້ອງເປັນໜຶ່ງໃນ {expected}"),
    "literal_error": ("must be one of {expected}", "ຕ້ອງເປັນໜຶ່ງໃນ {expected}"),
    "url_type": ("must be a URL", "ຕ້ອງເປັນ URL"),
    "url_parsing": ("must be a valid URL", "ຕ້ອງເປັນ URL ທີ່ຖືກຕ້ອງ"),
    "url_scheme": ("must be an http or https URL", "ຕ້ອງເປັນ URL ແບບ http ຫຼື https"),
    "url_too_long": ("the URL is too long", "URL ຍາວເກີນໄປ"),
    "dict_type": ("must be an object", "ຕ້ອງເປັນ object"),
    "model_type": ("must be an object", "ຕ້ອງເປັນ object"),
    "model_attributes_type": ("must be an object", "ຕ້ອງເປັນ object"),
    "list_type": ("must be a list", "ຕ້ອງເປັນລາຍການ (list)"),
    "json_invalid": ("the body is not valid JSON", "ເນື້ອໃນບໍ່ແມ່ນ JSON ທີ່ຖືກຕ້ອງ"),
    "json_type": ("the body is not valid JSON", "ເນື້ອໃນບໍ່ແມ່ນ JSON ທີ່ຖືກຕ້ອງ"),
    "extra_forbidden": ("is not a known field", "ບໍ່ແມ່ນຊ່ອງຂໍ້ມູນທີ່ຮູ້ຈັກ"),
    "value_error": ("{error}", "ຄ່ານີ້ບໍ່ຖືກຕ້ອງ"),
}
FALLBACK = ("is not valid", "ຄ່ານີ້ບໍ່ຖືກຕ້ອງ")


def field_reason(kind: str, language: str = "en", **context) -> str:
    english, lao = BY_TYPE.get(kind, FALLBACK)
    try:
        return (lao if language == "lo" else english).format(**context)
    except (KeyError, IndexError, ValueError):
        return lao if language == "lo" else FALLBACK[0]


def localized_reason(english: str, language: str) -> str:
    """The Lao text of an English reason this module produced (details raised with ApiError carry only English)."""
    if language != "lo":
        return english
    for kind, (known, lao) in BY_TYPE.items():
        if known == english and "{" not in known:
            return lao
    return FALLBACK[1]


def validation_details(exc: RequestValidationError, language: str) -> list[dict]:
    """Each failing field by its dotted path, the reason in English and in the caller's language; never the value sent."""
    details = []
    for error in exc.errors():
        location = [str(part) for part in error.get("loc", ()) if part not in ("body", "query", "path", "header")]
        context = {key: str(value) for key, value in (error.get("ctx") or {}).items()}
        kind = error.get("type", "")
        english = field_reason(kind, **context) if kind in BY_TYPE else error.get("msg", FALLBACK[0])
        details.append({"field": ".".join(location) or "body", "reason": english,
                        "localizedReason": field_reason(kind, language, **context)})
    return details
