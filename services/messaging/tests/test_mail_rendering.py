"""The worker writes each mail's bytes itself (so it can do so ahead); they must be what smtplib's send_message() sends."""
import email
import email.policy
import smtplib

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
