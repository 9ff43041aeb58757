"""Lao texts of the error messages, for `localizedMessage` when a caller asks for Lao (Accept-Language: lo).

By the English message first (tests/test_error_language.py checks every message raised in consent and the kernel is
here), then by error code and by status for messages built at run time.
"""

BY_MESSAGE = {
    # kernel: authentication and request handling
    "A bearer token is required.": "ຕ້ອງມີໂທເຄັນ (bearer token).",
    "The bearer token is not a well-formed JWT.": "ໂທເຄັນບໍ່ແມ່ນ JWT ທີ່ຖືກຮູບແບບ.",
    "The token's issuer is not trusted.": "ຜູ້ອອກໂທເຄັນນີ້ບໍ່ໄດ້ຮັບຄວາມເຊື່ອຖື.",
    "The token's signing algorithm is not accepted.": "ບໍ່ຮັບອັລກໍຣິທຶມການລົງລາຍເຊັນຂອງໂທເຄັນນີ້.",
    "The token issuer's keys cannot be fetched right now.": "ບໍ່ສາມາດດຶງເອົາກະແຈຂອງຜູ້ອອກໂທເຄັນໄດ້ໃນຕອນນີ້.",
    "The token does not grant this operation.": "ໂທເຄັນນີ້ບໍ່ມີສິດເຮັດການດຳເນີນການນີ້.",
    "The request is not valid.": "ຄຳຮ້ອງຂໍບໍ່ຖືກຕ້ອງ.",
    "A value in the request cannot be stored (too long, out of range or with forbidden characters).":
        "ບໍ່ສາມາດບັນທຶກຄ່າໃນຄຳຮ້ອງຂໍໄດ້ (ຍາວເກີນ, ເກີນຂອບເຂດ ຫຼື ມີຕົວອັກສອນທີ່ບໍ່ອະນຸຍາດ).",
    "The request holds a NUL character or a lone surrogate, which cannot be stored.":
        "ຄຳຮ້ອງຂໍມີຕົວອັກສອນ NUL ຫຼື surrogate ທີ່ບໍ່ມີຄູ່ ເຊິ່ງບໍ່ສາມາດບັນທຶກໄດ້.",
    "An unexpected error occurred; quote the trace id when reporting it.": "ເກີດຂໍ້ຜິດພາດທີ່ບໍ່ຄາດຄິດ; ກະລຸນາອ້າງອີງ trace id ເມື່ອລາຍງານ.",
    # consent: access
    "Only the citizen's own token may register a signing key.":
        "ມີແຕ່ໂທເຄັນຂອງພົນລະເມືອງເອງເທົ່ານັ້ນ ທີ່ສາມາດລົງທະບຽນກະແຈລົງລາຍເຊັນໄດ້.",
    "The service signs on an individual's behalf only for the citizen's own token.":
        "ລະບົບຈະລົງລາຍເຊັນແທນບຸກຄົນ ສະເພາະເມື່ອໃຊ້ໂທເຄັນຂອງພົນລະເມືອງເອງເທົ່ານັ້ນ.",
    "This consent record belongs to another individual.": "ບັນທຶກການຍິນຍອມນີ້ເປັນຂອງບຸກຄົນອື່ນ.",
    "This data agreement is not published.": "ຂໍ້ຕົກລົງຂໍ້ມູນນີ້ຍັງບໍ່ໄດ້ເຜີຍແຜ່.",
    "This data agreement is not published; a token is required.": "ຂໍ້ຕົກລົງຂໍ້ມູນນີ້ຍັງບໍ່ໄດ້ເຜີຍແຜ່; ຕ້ອງມີໂທເຄັນ.",
    "This token may act only for its own individual.": "ໂທເຄັນນີ້ດຳເນີນການໄດ້ສະເພາະແທນບຸກຄົນຂອງຕົນເອງເທົ່ານັ້ນ.",
    "No individual is registered for this token's subject.": "ບໍ່ມີບຸກຄົນໃດລົງທະບຽນໄວ້ສຳລັບຜູ້ຖືໂທເຄັນນີ້.",
    "The individual ids in the request disagree.": "ລະຫັດບຸກຄົນໃນຄຳຮ້ອງຂໍບໍ່ກົງກັນ.",
    "The individual is required (X-ConsentBB-IndividualId header or individualId parameter).":
        "ຕ້ອງລະບຸບຸກຄົນ (header X-ConsentBB-IndividualId ຫຼື ພາຣາມິເຕີ individualId).",
    # consent: unknown ids (routes/deps.py::not_found)
    "No consent record has this id.": "ບໍ່ພົບບັນທຶກການຍິນຍອມທີ່ມີລະຫັດນີ້.",
    "No consent record for this individual and data agreement has this id.": "ບໍ່ພົບບັນທຶກການຍິນຍອມຂອງບຸກຄົນນີ້ສຳລັບຂໍ້ຕົກລົງຂໍ້ມູນນີ້.",
    "No data agreement has this id.": "ບໍ່ພົບຂໍ້ຕົກລົງຂໍ້ມູນທີ່ມີລະຫັດນີ້.",
    "No individual has this id.": "ບໍ່ພົບບຸກຄົນທີ່ມີລະຫັດນີ້.",
    "No policy has this id.": "ບໍ່ພົບນະໂຍບາຍທີ່ມີລະຫັດນີ້.",
    "No revision of this policy has this id.": "ບໍ່ພົບສະບັບປັບປຸງຂອງນະໂຍບາຍນີ້ທີ່ມີລະຫັດນີ້.",
    "No webhook has this id.": "ບໍ່ພົບ webhook ທີ່ມີລະຫັດນີ້.",
    # consent: policies, agreements, records and signatures
    "objectId needs schemaName.": "objectId ຕ້ອງໃຊ້ຄູ່ກັບ schemaName.",
    "A policy version's url cannot change; give a new version.": "URL ຂອງນະໂຍບາຍແຕ່ລະສະບັບປ່ຽນບໍ່ໄດ້; ກະລຸນາສ້າງສະບັບໃໝ່.",
    "An active data agreement uses this policy.": "ມີຂໍ້ຕົກລົງຂໍ້ມູນທີ່ຍັງໃຊ້ງານຢູ່ ນຳໃຊ້ນະໂຍບາຍນີ້.",
    "The data agreement has no revision.": "ຂໍ້ຕົກລົງຂໍ້ມູນນີ້ບໍ່ມີສະບັບປັບປຸງ.",
    "The data agreement is not active; no consent can be recorded for it.":
        "ຂໍ້ຕົກລົງຂໍ້ມູນນີ້ບໍ່ໄດ້ໃຊ້ງານ; ບໍ່ສາມາດບັນທຶກການຍິນຍອມສຳລັບມັນໄດ້.",
    "The requested revision is not the data agreement's current revision.": "ສະບັບປັບປຸງທີ່ຮ້ອງຂໍ ບໍ່ແມ່ນສະບັບປັດຈຸບັນຂອງຂໍ້ຕົກລົງຂໍ້ມູນ.",
    "The requested revision is not the policy's current revision.": "ສະບັບປັບປຸງທີ່ຮ້ອງຂໍ ບໍ່ແມ່ນສະບັບປັດຈຸບັນຂອງນະໂຍບາຍ.",
    "The individual already has a consent record for this data agreement revision.":
        "ບຸກຄົນນີ້ມີບັນທຶກການຍິນຍອມສຳລັບສະບັບປັບປຸງນີ້ຂອງຂໍ້ຕົກລົງຂໍ້ມູນແລ້ວ.",
    "Only optIn of a consent record may change.": "ໃນບັນທຶກການຍິນຍອມ ປ່ຽນໄດ້ສະເພາະ optIn ເທົ່ານັ້ນ.",
    "The consent record is already signed.": "ບັນທຶກການຍິນຍອມນີ້ລົງລາຍເຊັນແລ້ວ.",
    "A withdrawn consent record cannot be signed as consent; opt in again first.":
        "ບັນທຶກການຍິນຍອມທີ່ຖອນແລ້ວ ບໍ່ສາມາດລົງລາຍເຊັນເປັນການຍິນຍອມໄດ້; ກະລຸນາເລືອກຍິນຍອມຄືນໃໝ່ກ່ອນ.",
    "The draft is too old or dated in the future; ask for a new draft.": "ຮ່າງນີ້ເກົ່າເກີນໄປ ຫຼື ລົງວັນທີໃນອະນາຄົດ; ກະລຸນາຂໍຮ່າງໃໝ່.",
    "No prepared signature for this record; POST one first.": "ບໍ່ມີລາຍເຊັນທີ່ກະກຽມໄວ້ສຳລັບບັນທຶກນີ້; ກະລຸນາສ້າງ (POST) ກ່ອນ.",
    "The record changed since this signature was prepared; prepare a new one.":
        "ບັນທຶກໄດ້ປ່ຽນແປງຫຼັງຈາກກະກຽມລາຍເຊັນນີ້; ກະລຸນາກະກຽມລາຍເຊັນໃໝ່.",
    "The individual has no registered signing key.": "ບຸກຄົນນີ້ບໍ່ມີກະແຈລົງລາຍເຊັນທີ່ລົງທະບຽນໄວ້.",
    "publicKeyJwk must be a public EC, RSA or OKP JWK.": "publicKeyJwk ຕ້ອງເປັນກະແຈສາທາລະນະ JWK ປະເພດ EC, RSA ຫຼື OKP.",
    # consent: signing keys bound through the Identity BB (key_binding.py)
    "The individual's signing key has no current certificate from the Identity BB; register the key again with the certificate its wallet binding returned.":
        "ກະແຈລົງລາຍເຊັນຂອງບຸກຄົນນີ້ ບໍ່ມີໃບຢັ້ງຢືນທີ່ຍັງໃຊ້ໄດ້ຈາກລະບົບຢືນຢັນຕົວຕົນ (Identity BB); ກະລຸນາລົງທະບຽນກະແຈຄືນໃໝ່ ພ້ອມກັບໃບຢັ້ງຢືນທີ່ໄດ້ຮັບຕອນຜູກກະເປົາເງິນດິຈິຕອນ (wallet).",
    "publicKeyJwk needs publicKeyCertificate: the certificate the Identity BB issued when the wallet bound the key.":
        "publicKeyJwk ຕ້ອງມີ publicKeyCertificate: ໃບຢັ້ງຢືນທີ່ລະບົບຢືນຢັນຕົວຕົນ (Identity BB) ອອກໃຫ້ ຕອນຜູກກະແຈກັບກະເປົາ (wallet).",
    "publicKeyCertificate and keyBindingAttestation need the publicKeyJwk they are for.":
        "publicKeyCertificate ແລະ keyBindingAttestation ຕ້ອງມາພ້ອມກັບ publicKeyJwk ທີ່ພວກມັນກ່ຽວຂ້ອງ.",
    "publicKeyJwk needs keyBindingAttestation: the Identity BB's attestation that the key is the token's person's.":
        "publicKeyJwk ຕ້ອງມີ keyBindingAttestation: ການຢັ້ງຢືນຈາກລະບົບຢືນຢັນຕົວຕົນ (Identity BB) ວ່າກະແຈນີ້ເປັນຂອງເຈົ້າຂອງໂທເຄັນ.",
    "keyBindingAttestation is not signed by the Identity BB.": "keyBindingAttestation ບໍ່ໄດ້ລົງລາຍເຊັນໂດຍລະບົບຢືນຢັນຕົວຕົນ (Identity BB).",
    "keyBindingAttestation is not a key-binding attestation of the Identity BB.":
        "keyBindingAttestation ບໍ່ແມ່ນການຢັ້ງຢືນການຜູກກະແຈ ຂອງລະບົບຢືນຢັນຕົວຕົນ (Identity BB).",
    "keyBindingAttestation has expired; ask the Identity BB for a new one.":
        "keyBindingAttestation ໝົດອາຍຸແລ້ວ; ກະລຸນາຂໍອັນໃໝ່ຈາກລະບົບຢືນຢັນຕົວຕົນ (Identity BB).",
    "keyBindingAttestation attests another key than publicKeyJwk.": "keyBindingAttestation ຢັ້ງຢືນກະແຈອື່ນ ບໍ່ແມ່ນ publicKeyJwk.",
    "keyBindingAttestation is for another person or client than this token.":
        "keyBindingAttestation ເປັນຂອງບຸກຄົນ ຫຼື ແອັບພລິເຄຊັນອື່ນ ບໍ່ແມ່ນຂອງໂທເຄັນນີ້.",
    "publicKeyCertificate is not a PEM X.509 certificate.": "publicKeyCertificate ບໍ່ແມ່ນໃບຢັ້ງຢືນ X.509 ແບບ PEM.",
    "publicKeyCertificate certifies another key than publicKeyJwk.": "publicKeyCertificate ຢັ້ງຢືນກະແຈອື່ນ ບໍ່ແມ່ນ publicKeyJwk.",
    "publicKeyCertificate is not signed by the Identity BB.": "publicKeyCertificate ບໍ່ໄດ້ລົງລາຍເຊັນໂດຍລະບົບຢືນຢັນຕົວຕົນ (Identity BB).",
    "publicKeyCertificate is expired or not yet valid.": "publicKeyCertificate ໝົດອາຍຸແລ້ວ ຫຼື ຍັງບໍ່ທັນມີຜົນໃຊ້.",
    "Unsupported verificationMethod; use jws-individual or jws-service.": "ບໍ່ຮອງຮັບ verificationMethod ນີ້; ກະລຸນາໃຊ້ jws-individual ຫຼື jws-service.",
    "The signature does not verify against the payload and the signer's key.":
        "ລາຍເຊັນກວດສອບບໍ່ຜ່ານ ກັບ payload ແລະ ກະແຈຂອງຜູ້ລົງລາຍເຊັນ.",
    "A draft's signature signs the record's revision, without an object reference.":
        "ລາຍເຊັນຂອງຮ່າງ ລົງລາຍເຊັນໃສ່ສະບັບປັບປຸງຂອງບັນທຶກ ໂດຍບໍ່ມີການອ້າງອີງວັດຖຸ (object reference).",
    "dataAgreementRevisionHash is not the hash of the agreement's current revision.":
        "dataAgreementRevisionHash ບໍ່ແມ່ນຄ່າ hash ຂອງສະບັບປັດຈຸບັນຂອງຂໍ້ຕົກລົງ.",
    "payload is not the serialization of the signature's verification fields.": "payload ບໍ່ກົງກັບຂໍ້ມູນການກວດສອບຂອງລາຍເຊັນ.",
    "verificationPayload is not the serialized snapshot of this consent record.":
        "verificationPayload ບໍ່ກົງກັບຂໍ້ມູນສະບັບ (snapshot) ຂອງບັນທຶກການຍິນຍອມນີ້.",
    "verificationPayloadHash is not the hash of verificationPayload.": "verificationPayloadHash ບໍ່ແມ່ນຄ່າ hash ຂອງ verificationPayload.",
    "verificationSignedBy does not name the signer's key.": "verificationSignedBy ບໍ່ກົງກັບກະແຈຂອງຜູ້ລົງລາຍເຊັນ.",
    'verificationSignedAs does not match verificationMethod: "individual" for jws-individual, "delegate" for jws-service.':
        'verificationSignedAs ບໍ່ກົງກັບ verificationMethod: "individual" ສຳລັບ jws-individual, "delegate" ສຳລັບ jws-service.',
}

BY_CODE = {
    "invalid_token": "ໂທເຄັນຖືກປະຕິເສດ.",
    "unauthorized": "ຕ້ອງຢືນຢັນຕົວຕົນ.",
    "forbidden": "ບໍ່ມີສິດເຮັດການດຳເນີນການນີ້.",
    "not_found": "ບໍ່ພົບລາຍການທີ່ຮ້ອງຂໍ.",
    # the reason names what failed (its signature, its content), built at run time
    "invalid_checkpoint": "ຈຸດກວດສອບ (checkpoint) ຖືກປະຕິເສດ: ລາຍເຊັນ ຫຼື ເນື້ອໃນຂອງມັນບໍ່ຖືກຕ້ອງ.",
    "method_not_allowed": "ບໍ່ອະນຸຍາດໃຫ້ໃຊ້ວິທີການ (method) ນີ້.",
}

BY_STATUS = {
    400: "ຄຳຮ້ອງຂໍບໍ່ຖືກຕ້ອງ.",
    401: "ຕ້ອງຢືນຢັນຕົວຕົນ.",
    403: "ບໍ່ມີສິດເຮັດການດຳເນີນການນີ້.",
    404: "ບໍ່ພົບ.",
    405: "ບໍ່ອະນຸຍາດໃຫ້ໃຊ້ວິທີການ (method) ນີ້.",
    413: "ຄຳຮ້ອງຂໍໃຫຍ່ເກີນໄປ.",
    415: "ບໍ່ຮອງຮັບປະເພດເນື້ອຫານີ້.",
    500: "ເກີດຂໍ້ຜິດພາດທີ່ບໍ່ຄາດຄິດ.",
    503: "ບໍລິການບໍ່ພ້ອມໃຊ້ງານຊົ່ວຄາວ.",
}

FALLBACK = "ເກີດຂໍ້ຜິດພາດ."


def lao(message: str, code: str, status: int) -> str:
    return BY_MESSAGE.get(message) or BY_CODE.get(code) or BY_STATUS.get(status) or FALLBACK
