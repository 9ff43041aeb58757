"""The registration spec's error body: systemError {traceId, code (string), message, localizedMessage}."""

# Lao texts of the messages an applicant meets when a submission is refused; `message` keeps the English one.
LAO_MESSAGES = {
    "citizen_required": "ບໍລິການນີ້ຕ້ອງໃຊ້ໂດຍພົນລະເມືອງທີ່ເຂົ້າສູ່ລະບົບດ້ວຍລະບົບຢັ້ງຢືນຕົວຕົນ.",
    "consent_required": "ກະລຸນາໃຫ້ຄວາມຍິນຍອມຕໍ່ຂໍ້ຕົກລົງການນຳໃຊ້ຂໍ້ມູນທີ່ບໍລິການນີ້ຕ້ອງການ ກ່ອນຍື່ນຄຳຮ້ອງ.",
    "consent_unavailable": "ບໍ່ສາມາດກວດສອບຄວາມຍິນຍອມໄດ້ໃນຕອນນີ້; ຄຳຮ້ອງຍັງບໍ່ໄດ້ຖືກຍື່ນ. ກະລຸນາລອງໃໝ່ພາຍຫຼັງ.",
    "not_eligible": "ຂໍ້ມູນທີ່ຍື່ນບໍ່ກົງກັບເງື່ອນໄຂຂອງຜູ້ທີ່ຕ້ອງ ຫຼື ສາມາດລົງທະບຽນໄດ້.",
    "invalid_form_data": "ຂໍ້ມູນໃນແບບຟອມບໍ່ຖືກຕ້ອງ.",
    "invalid_documents": "ເອກະສານທີ່ແນບມາບໍ່ກົງກັບທີ່ບໍລິການຕ້ອງການ.",
    "confirmation_required": "ການຍື່ນຄຳຮ້ອງຕ້ອງມີການຢືນຢັນຈາກຜູ້ຍື່ນ.",
    "invalid_fields": "ຊ່ອງຂໍ້ມູນທີ່ໝາຍໄວ້ບໍ່ແມ່ນຊ່ອງຂອງແບບຟອມນີ້.",
    "file_not_found": "ບໍ່ພົບແຟ້ມຄຳຮ້ອງນີ້.",
}


def error_shape(status: int, code: str, message: str, details: list[dict], trace_id: str) -> dict:
    body = {"traceId": trace_id, "code": code, "message": message, "localizedMessage": LAO_MESSAGES.get(code, message)}
    if details:
        # Each invalid field by name and reason; an extension the spec's shape leaves room for.
        body["details"] = details
    return body
