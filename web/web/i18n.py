"""UI strings of the portal in Lao (the default) and English; pages pick one catalogue per request."""
import re

LANGUAGES = ("lo", "en")
DEFAULT = "lo"

CATALOGS: dict[str, dict[str, str]] = {
    "lo": {
        "site_title": "ການບໍລິການລັດ ອອນລາຍ",
        "switch_language": "English",
        "home": "ໜ້າຫຼັກ",
        "services": "ການບໍລິການ",
        "my_applications": "ຄຳຮ້ອງຂອງຂ້ອຍ",
        "sign_in": "ເຂົ້າສູ່ລະບົບ",
        "sign_out": "ອອກຈາກລະບົບ",
        "signed_in_as": "ເຂົ້າລະບົບແລ້ວ",
        "welcome": "ຍິນດີຕ້ອນຮັບສູ່ການບໍລິການລັດ ອອນລາຍ ຂອງ ສປປ ລາວ",
        "sign_in_to_apply": "ກະລຸນາເຂົ້າສູ່ລະບົບ ເພື່ອຍື່ນຄຳຮ້ອງ",
        "available_services": "ການບໍລິການທີ່ເປີດໃຫ້",
        "no_services": "ຍັງບໍ່ມີການບໍລິການ",
        "apply": "ຍື່ນຄຳຮ້ອງ",
        "save_draft": "ບັນທຶກສະບັບຮ່າງ",
        "draft_saved": "ບັນທຶກສະບັບຮ່າງແລ້ວ",
        "continue_to_review": "ກວດຄືນ ແລະ ສົ່ງ",
        "documents": "ເອກະສານຄັດຕິດ",
        "upload": "ອັບໂຫຼດ",
        "uploaded": "ອັບໂຫຼດແລ້ວ",
        "required": "ຕ້ອງປ້ອນ",
        "optional": "ບໍ່ບັງຄັບ",
        "choose": "-- ເລືອກ --",
        "review_title": "ກວດຄືນຄຳຮ້ອງ",
        "confirm_statement": "ຂ້ອຍຢືນຢັນວ່າຂໍ້ມູນທັງໝົດຖືກຕ້ອງ ແລະ ຕ້ອງການສົ່ງຄຳຮ້ອງນີ້",
        "submit": "ສົ່ງຄຳຮ້ອງ",
        "edit": "ແກ້ໄຂ",
        "submitted": "ສົ່ງຄຳຮ້ອງແລ້ວ",
        "confirm_needed": "ກະລຸນາໝາຍຢືນຢັນກ່ອນສົ່ງ",
        "form_has_errors": "ແບບຟອມມີຂໍ້ຜິດພາດ ກະລຸນາແກ້ໄຂ",
        "status": "ສະຖານະ",
        "service": "ການບໍລິການ",
        "submitted_on": "ວັນທີສົ່ງ",
        "history": "ປະຫວັດ",
        "no_applications": "ທ່ານຍັງບໍ່ມີຄຳຮ້ອງ",
        "registration_number": "ເລກທະບຽນ",
        "reason": "ເຫດຜົນ",
        "correct_and_resubmit": "ແກ້ໄຂ ແລະ ສົ່ງຄືນ",
        "resubmitted": "ສົ່ງຄຳຮ້ອງຄືນແລ້ວ",
        "drafts": "ສະບັບຮ່າງ",
        "open": "ເປີດ",
        "error_title": "ເກີດຂໍ້ຜິດພາດ",
        "error_unavailable": "ລະບົບບໍ່ສາມາດຕອບໄດ້ໃນຕອນນີ້ ກະລຸນາລອງໃໝ່",
        "error_not_found": "ບໍ່ພົບໜ້ານີ້",
        "error_sign_in_failed": "ເຂົ້າສູ່ລະບົບບໍ່ສຳເລັດ ກະລຸນາລອງໃໝ່",
        "status_PENDING": "ລໍຖ້າພິຈາລະນາ", "status_APPROVED": "ອະນຸມັດແລ້ວ",
        "status_REJECTED": "ຖືກປະຕິເສດ", "status_SENDBACK": "ສົ່ງກັບຄືນໃຫ້ແກ້ໄຂ", "status_DRAFT": "ສະບັບຮ່າງ",
        "action_submitted": "ສົ່ງຄຳຮ້ອງ", "action_saved": "ບັນທຶກ", "action_claimed": "ເຈົ້າໜ້າທີ່ຮັບເລື່ອງ",
        "action_approve": "ອະນຸມັດ", "action_reject": "ປະຕິເສດ", "action_send_back": "ສົ່ງກັບຄືນໃຫ້ແກ້ໄຂ",
        "action_corrected": "ແກ້ໄຂ ແລະ ສົ່ງຄືນ", "action_updated": "ປັບປຸງ",
        # validation messages, keyed by the JSON Schema rule the registration API reports
        "v_required": "ຕ້ອງປ້ອນຂໍ້ມູນນີ້",
        "v_enum": "ກະລຸນາເລືອກຈາກລາຍການ",
        "v_pattern": "ຮູບແບບບໍ່ຖືກຕ້ອງ",
        "v_type": "ປະເພດຂໍ້ມູນບໍ່ຖືກຕ້ອງ",
        "v_minimum": "ຕ້ອງບໍ່ຕ່ຳກວ່າ {n}",
        "v_maximum": "ຕ້ອງບໍ່ເກີນ {n}",
        "v_minLength": "ຕ້ອງມີຢ່າງໜ້ອຍ {n} ຕົວອັກສອນ",
        "v_maxLength": "ຕ້ອງມີບໍ່ເກີນ {n} ຕົວອັກສອນ",
        "v_document_missing": "ຕ້ອງຄັດຕິດເອກະສານນີ້",
        "v_invalid": "ຂໍ້ມູນບໍ່ຖືກຕ້ອງ",
        "v_upload_type": "ປະເພດໄຟລ໌ບໍ່ຮອງຮັບ",
        "v_upload_size": "ໄຟລ໌ໃຫຍ່ເກີນໄປ",
    },
    "en": {
        "site_title": "Lao Government Online Services",
        "switch_language": "ພາສາລາວ",
        "home": "Home",
        "services": "Services",
        "my_applications": "My applications",
        "sign_in": "Sign in",
        "sign_out": "Sign out",
        "signed_in_as": "Signed in",
        "welcome": "Welcome to the online government services of the Lao PDR",
        "sign_in_to_apply": "Please sign in to apply",
        "available_services": "Available services",
        "no_services": "No services yet",
        "apply": "Apply",
        "save_draft": "Save draft",
        "draft_saved": "Draft saved",
        "continue_to_review": "Review and submit",
        "documents": "Documents",
        "upload": "Upload",
        "uploaded": "Uploaded",
        "required": "required",
        "optional": "optional",
        "choose": "-- choose --",
        "review_title": "Review your application",
        "confirm_statement": "I confirm that all information is correct and I want to submit this application",
        "submit": "Submit application",
        "edit": "Edit",
        "submitted": "Application submitted",
        "confirm_needed": "Please tick the confirmation before submitting",
        "form_has_errors": "The form has errors; please correct them",
        "status": "Status",
        "service": "Service",
        "submitted_on": "Submitted",
        "history": "History",
        "no_applications": "You have no applications yet",
        "registration_number": "Registration number",
        "reason": "Reason",
        "correct_and_resubmit": "Correct and resubmit",
        "resubmitted": "Application resubmitted",
        "drafts": "Drafts",
        "open": "Open",
        "error_title": "Something went wrong",
        "error_unavailable": "The service cannot answer right now; please try again",
        "error_not_found": "This page does not exist",
        "error_sign_in_failed": "Sign-in did not succeed; please try again",
        "status_PENDING": "Pending review", "status_APPROVED": "Approved",
        "status_REJECTED": "Rejected", "status_SENDBACK": "Sent back for correction", "status_DRAFT": "Draft",
        "action_submitted": "Submitted", "action_saved": "Saved", "action_claimed": "Taken up by an officer",
        "action_approve": "Approved", "action_reject": "Rejected", "action_send_back": "Sent back for correction",
        "action_corrected": "Corrected and resubmitted", "action_updated": "Updated",
        "v_required": "This field is required",
        "v_enum": "Please choose from the list",
        "v_pattern": "The format is not valid",
        "v_type": "The value has the wrong type",
        "v_minimum": "Must be at least {n}",
        "v_maximum": "Must be at most {n}",
        "v_minLength": "Must have at least {n} characters",
        "v_maxLength": "Must have at most {n} characters",
        "v_document_missing": "This document is required",
        "v_invalid": "The value is not valid",
        "v_upload_type": "This file type is not accepted",
        "v_upload_size": "The file is too large",
    },
}


def pick(value: str | None) -> str | None:
    return value if value in LANGUAGES else None


def text(value, lang: str) -> str:
    """A {lo, en} object or plain string in the chosen language, falling back to the other one."""
    if isinstance(value, dict):
        return value.get(lang) or value.get("lo") or value.get("en") or ""
    return "" if value is None else str(value)


# The registration API states field problems in English (forms.py::_reason); each maps to a catalogue message.
_REASONS = [
    (re.compile(r"^required$"), "v_required", None),
    (re.compile(r"^required document is missing$"), "v_document_missing", None),
    (re.compile(r"^must be one of "), "v_enum", None),
    (re.compile(r"^must match "), "v_pattern", None),
    (re.compile(r"^must be of type "), "v_type", None),
    (re.compile(r"^must be at least (\S+)$"), "v_minimum", 1),
    (re.compile(r"^must be at most (\S+)$"), "v_maximum", 1),
    (re.compile(r"^must have at least (\d+) characters$"), "v_minLength", 1),
    (re.compile(r"^must have at most (\d+) characters$"), "v_maxLength", 1),
]


def validation_message(reason: str, lang: str) -> str:
    for pattern, key, group in _REASONS:
        match = pattern.match(reason or "")
        if match:
            return CATALOGS[lang][key].format(n=match.group(group) if group else "")
    return CATALOGS[lang]["v_invalid"]
