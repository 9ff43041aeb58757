"""Texts of the login and consent pages in Lao (default) and English."""
TEXT = {
    "lo": {
        "title": "ຢືນຢັນຕົວຕົນ",
        "wants": "ຕ້ອງການຢືນຢັນຕົວຕົນຂອງທ່ານ",
        "individual_id": "ເລກປະຈຳຕົວ (UIN ຫຼື VID)",
        "pin": "ລະຫັດ PIN ຫຼື ລະຫັດຜ່ານ",
        "sign_in": "ເຂົ້າສູ່ລະບົບ",
        "consent_intro": "ຂໍ້ມູນຕໍ່ໄປນີ້ຈະຖືກແບ່ງປັນໃຫ້",
        "essential": "ຈຳເປັນ",
        "allow": "ອະນຸຍາດ",
        "deny": "ປະຕິເສດ",
        "bad_credentials": "ເລກປະຈຳຕົວ ຫຼື ລະຫັດບໍ່ຖືກຕ້ອງ.",
        "locked": "ພະຍາຍາມຜິດຫຼາຍເກີນໄປ. ກະລຸນາລອງໃໝ່ພາຍຫຼັງ.",
        "reauthenticate": "ການເຂົ້າສູ່ລະບົບຂອງທ່ານເກົ່າເກີນໄປ. ກະລຸນາເຂົ້າສູ່ລະບົບອີກຄັ້ງ.",
        "channel": "ສົ່ງລະຫັດທາງ",
        "sms": "SMS",
        "email": "ອີເມວ",
        "send_code": "ສົ່ງລະຫັດ",
        "otp_sent": "ຖ້າເລກປະຈຳຕົວຖືກຕ້ອງ, ລະຫັດ 6 ຕົວເລກໄດ້ຖືກສົ່ງໃຫ້ທ່ານແລ້ວ.",
        "otp": "ລະຫັດຢືນຢັນ 6 ຕົວເລກ",
        "bad_otp": "ລະຫັດບໍ່ຖືກຕ້ອງ.",
        "otp_expired": "ລະຫັດໝົດອາຍຸ ຫຼື ໃຊ້ໝົດແລ້ວ. ກະລຸນາຂໍລະຫັດໃໝ່.",
        "error": "ບໍ່ສາມາດດຳເນີນການຕໍ່ໄດ້",
        "back": "ກັບຄືນຫາແອັບພລິເຄຊັນ",
        "switch": "English",
    },
    "en": {
        "title": "Verify your identity",
        "wants": "wants to verify your identity",
        "individual_id": "ID number (UIN or VID)",
        "pin": "PIN or password",
        "sign_in": "Sign in",
        "consent_intro": "The following information will be shared with",
        "essential": "required",
        "allow": "Allow",
        "deny": "Deny",
        "bad_credentials": "The ID number or PIN is not correct.",
        "locked": "Too many failed attempts. Please try again later.",
        "reauthenticate": "Your sign-in is too old for this service. Please sign in again.",
        "channel": "Send the code by",
        "sms": "SMS",
        "email": "E-mail",
        "send_code": "Send code",
        "otp_sent": "If the ID number is known, a 6-digit code has been sent to you.",
        "otp": "6-digit code",
        "bad_otp": "The code is not correct.",
        "otp_expired": "The code has expired or was used up. Please ask for a new one.",
        "error": "The request cannot continue",
        "back": "Back to the application",
        "switch": "ພາສາລາວ",
    },
}
CLAIM_LABELS = {
    "lo": {"name": "ຊື່ ແລະ ນາມສະກຸນ", "given_name": "ຊື່", "family_name": "ນາມສະກຸນ", "middle_name": "ຊື່ກາງ", "gender": "ເພດ",
           "birthdate": "ວັນເດືອນປີເກີດ", "email": "ອີເມວ", "email_verified": "ອີເມວທີ່ຢືນຢັນແລ້ວ", "phone_number": "ເບີໂທລະສັບ",
           "phone_number_verified": "ເບີໂທທີ່ຢືນຢັນແລ້ວ", "address": "ທີ່ຢູ່", "picture": "ຮູບພາບ", "nickname": "ຊື່ຫຼິ້ນ",
           "preferred_username": "ຊື່ຜູ້ໃຊ້", "locale": "ພາສາ", "zoneinfo": "ເຂດເວລາ"},
    "en": {"name": "Full name", "given_name": "Given name", "family_name": "Family name", "middle_name": "Middle name", "gender": "Gender",
           "birthdate": "Date of birth", "email": "E-mail", "email_verified": "E-mail verified", "phone_number": "Phone number",
           "phone_number_verified": "Phone number verified", "address": "Address", "picture": "Photo", "nickname": "Nickname",
           "preferred_username": "User name", "locale": "Language", "zoneinfo": "Time zone"},
}
ERRORS = {
    "lo": {"invalid_client": "ແອັບພລິເຄຊັນນີ້ບໍ່ໄດ້ລົງທະບຽນ.", "invalid_redirect_uri": "ທີ່ຢູ່ກັບຄືນບໍ່ຖືກຕ້ອງ.",
           "invalid_request": "ຄຳຮ້ອງບໍ່ຖືກຕ້ອງ.", "invalid_scope": "ຂອບເຂດທີ່ຮ້ອງຂໍບໍ່ຖືກຕ້ອງ.",
           "unsupported_response_type": "ປະເພດການຕອບກັບບໍ່ຮອງຮັບ.", "invalid_acr": "ວິທີຢືນຢັນຕົວຕົນນີ້ບໍ່ຮອງຮັບ.",
           "login_required": "ຕ້ອງເຂົ້າສູ່ລະບົບ.", "invalid_transaction": "ການເຮັດທຸລະກຳໝົດອາຍຸ ຫຼື ບໍ່ຖືກຕ້ອງ."},
    "en": {"invalid_client": "This application is not registered.", "invalid_redirect_uri": "The return address is not registered.",
           "invalid_request": "The request is not valid.", "invalid_scope": "The requested scope is not valid.",
           "unsupported_response_type": "This response type is not supported.", "invalid_acr": "No supported sign-in method for this application.",
           "login_required": "Sign-in is required.", "invalid_transaction": "This sign-in has expired or is not valid."},
}


def pick_locale(ui_locales: str | None, default: str = "lo") -> str:
    for tag in (ui_locales or "").split():
        language = tag.split("-")[0].lower()
        if language in TEXT:
            return language
    return default
