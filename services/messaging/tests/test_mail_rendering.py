"""The worker writes each mail's bytes itself (so it can do so ahead); they must be what smtplib's send_message() sends."""
import email
import email.policy
import smtplib

from messaging.addresses import is_one_line
from messaging.channels import Outgoing, SmtpMailer


class Capturing(smtplib.SMTP):
    """send_message() without a server: what it would hand to sendmail()."""

    def __init__(self):
        super().__init__()  # no host: no connection
        self.sent = None

    def ehlo_or_helo_if_needed(self):
        pass

    def sendmail(self, from_addr, to_addrs, msg, mail_options=(), rcpt_options=()):
        self.sent = (from_addr, list(to_addrs), msg, tuple(mail_options))
        return {}


def outgoing(**recipient) -> Outgoing:
    return Outgoing(message_id="6f1c1d0e-3a52-4d55-9a57-2d1c4f1b7a10",
                    recipient={"email": "somchai@example.la", "name": "ສົມໃຈ ພົມມະຈັນ", **recipient},
                    sender={"name": "ກະຊວງສາທາລະນະສຸກ", "replyTo": "reply@moh.gov.la"},
                    content={"title": "ແຈ້ງການນັດໝາຍ: ວັນຈັນ ເວລາ 9:00 " * 3, "content": "ສະບາຍດີ,\nທ່ານມີນັດໝາຍວັນຈັນ.\n.\n"})


def test_rendered_bytes_are_those_send_message_sends(settings):
    mailer = SmtpMailer(settings)
    for item in (outgoing(), outgoing(emailCC="copy@example.la", emailBCC="hidden@example.la")):
        mail, envelope, data = mailer.render(item)
        smtp = Capturing()

        smtp.send_message(mail, from_addr=settings.mail_from, to_addrs=envelope)

        assert smtp.sent == (settings.mail_from, envelope, data, ())
        assert b"hidden@example.la" not in data  # a Bcc travels in the envelope only


def test_lao_subject_and_body_read_back_unchanged(settings):
    _, _, data = SmtpMailer(settings).render(outgoing())

    parsed = email.message_from_bytes(data, policy=email.policy.default)

    assert parsed["Subject"] == "ແຈ້ງການນັດໝາຍ: ວັນຈັນ ເວລາ 9:00 " * 3
    assert parsed["To"].addresses[0].display_name == "ສົມໃຈ ພົມມະຈັນ"
    assert parsed.get_content().replace("\r\n", "\n") == "ສະບາຍດີ,\nທ່ານມີນັດໝາຍວັນຈັນ.\n.\n"  # wire line ends


def test_prepared_mail_is_sent_once_and_only_for_its_own_message(settings):
    mailer = SmtpMailer(settings)
    first, second = outgoing(), Outgoing(message_id="another", recipient={"email": "b@example.la"}, sender=None,
                                         content={"title": "t", "content": "c"})
    mailer.prepare(first)

    assert mailer._rendered(second)[1] == ["b@example.la"]  # not the prepared one
    assert mailer.ahead is None
    mailer.prepare(first)
    assert mailer._rendered(first)[1] == ["somchai@example.la"] and mailer.ahead is None


def test_every_header_text_the_api_lets_through_can_be_written_as_mail(settings):
    """The API's one-line rule (addresses.is_one_line) must cover all the email library refuses in a header text,
    else an accepted message is bounced by the worker as unsendable."""
    mailer = SmtpMailer(settings)
    unwritable = []
    # Controls (C0, C1), general punctuation (U+2028, U+2029 among the spaces and marks), Lao, the BOM.
    for code in [*range(1, 0xA0), *range(0x2000, 0x2070), *range(0x0E80, 0x0F00), 0xFEFF]:
        text = f"a{chr(code)}b"
        if not is_one_line(text):
            continue
        for item in (outgoing(name=text), outgoing(email="ສົມໃຈ@example.la", name=text),
                     Outgoing(message_id="m", recipient={"email": "a@example.la"}, sender={"name": text, "organisationName": text},
                              content={"title": text, "content": "c"})):
            try:
                mail, _, _ = mailer.render(item)
                mail.as_bytes(policy=mail.policy.clone(utf8=True, linesep="\r\n"))  # as an SMTPUTF8 mail goes out
            except ValueError:
                unwritable.append(hex(code))

    assert unwritable == []
    assert not any(is_one_line(f"a{c}b") for c in "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
