"""Delivery channels: email over SMTP, SMS through a provider (an HTTP gateway now; SMPP can implement the same Protocol)."""
import io
import logging
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from email.generator import BytesGenerator
from email.message import EmailMessage
from email.utils import formataddr, formatdate, quote
from typing import Protocol

import httpx
import idna

from kernel.httpclient import new_client
from messaging.settings import MessagingSettings

log = logging.getLogger(__name__)


class DeliveryError(Exception):
    """A provider refused or could not be reached; `code` is a status code or error class, never content."""

    def __init__(self, code: str, *, permanent: bool):
        super().__init__(code)
        self.code, self.permanent = code, permanent


@dataclass(frozen=True)
class Outgoing:
    message_id: str
    recipient: dict
    sender: dict | None
    content: dict


class Sender(Protocol):
    def send(self, outgoing: Outgoing, *, before_handover: Callable[[], None] | None = None,
             while_waiting: Callable[[], None] | None = None) -> str | None:
        """Hand the message to the provider; returns the provider's reference, raises DeliveryError.

        before_handover runs at the last moment before the provider can take the message (SMTP: before DATA).
        while_waiting runs once the message is out, while the provider decides (SMTP: before the answer to DATA is
        read), for work that does not depend on that answer; it must not raise.
        """

    def prepare(self, outgoing: Outgoing) -> None:
        """Do ahead what send() will need for this message (an error is kept for send() to raise)."""

    def close(self) -> None: ...


class _Smtp(smtplib.SMTP):
    """smtplib's client with a hook just before DATA, after which the server may take the message, and one between
    sending the message and reading the server's answer."""

    before_data: Callable[[], None] | None = None
    while_waiting: Callable[[], None] | None = None

    def data(self, msg):
        if self.before_data is not None:
            self.before_data()
        hook, self.while_waiting = self.while_waiting, None
        if hook is None:
            return super().data(msg)
        # smtplib's data() for bytes (what sendmail passes on), with the hook where it would wait for the answer.
        self.putcmd("data")
        code, reply = self.getreply()
        if code != 354:
            raise smtplib.SMTPDataError(code, reply)
        content = smtplib._quote_periods(msg)
        if content[-2:] != smtplib.bCRLF:
            content += smtplib.bCRLF
        self.send(content + b"." + smtplib.bCRLF)
        try:
            hook()
        finally:
            answer = self.getreply()  # read whatever happened, so the connection stays in step
        return answer


class SmtpMailer:
    """One SMTP connection, kept open between messages and reopened when the server drops it."""

    def __init__(self, settings: MessagingSettings):
        self.settings = settings
        self.smtp: smtplib.SMTP | None = None
        self.ahead: tuple[str, tuple | Exception] | None = None  # (message id, what prepare() made of it)

    def _connect(self) -> smtplib.SMTP:
        settings = self.settings
        smtp = _Smtp(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_seconds)
        try:
            if settings.smtp_starttls:
                # No STARTTLS offered or a certificate that does not verify raises: never falls back to clear text.
                smtp.starttls(context=ssl.create_default_context(cafile=settings.smtp_ca_file or None))
            if settings.smtp_username:
                smtp.login(settings.smtp_username, settings.smtp_password)
        except (smtplib.SMTPException, OSError) as exc:
            smtp.close()
            # Our relay settings, not the message, are wrong (a 535 is no bounce): retried until someone fixes them.
            raise DeliveryError(f"smtp_setup_{type(exc).__name__}", permanent=False) from None
        return smtp

    def compose(self, outgoing: Outgoing) -> tuple[EmailMessage, list[str]]:
        sender, recipient, content = outgoing.sender or {}, outgoing.recipient, outgoing.content
        mail = EmailMessage()
        mail["Subject"] = content["title"]
        # Our own address: relays refuse mail "from" domains they do not serve; the caller's address goes in Reply-To.
        mail["From"] = formataddr((sender.get("name") or sender.get("organisationName") or "", self.settings.mail_from))
        reply_to = sender.get("replyTo") or sender.get("email")
        if reply_to:
            mail["Reply-To"] = _wire(reply_to)
        mail["To"] = _header_address(recipient.get("name"), _wire(recipient["email"]))
        if recipient.get("emailCC"):
            mail["Cc"] = _wire(recipient["emailCC"])
        mail["Date"] = formatdate(localtime=False)
        # A stable Message-ID lets receiving systems drop the copy of a resend after a worker crash.
        mail["Message-ID"] = f"<{outgoing.message_id}@{self.settings.mail_domain}>"
        mail.set_content(content["content"], charset="utf-8")
        envelope = [_wire(recipient[key]) for key in ("email", "emailCC", "emailBCC") if recipient.get(key)]
        return mail, envelope

    def render(self, outgoing: Outgoing) -> tuple[EmailMessage, list[str], bytes | None]:
        """compose(), and for an all-ASCII mail its bytes exactly as smtplib's send_message() writes them (there is no
        Bcc header for it to drop)."""
        mail, envelope = self.compose(outgoing)
        if not all(address.isascii() for address in (self.settings.mail_from, *envelope)):
            return mail, envelope, None
        with io.BytesIO() as buffer:
            BytesGenerator(buffer).flatten(mail, linesep="\r\n")
            return mail, envelope, buffer.getvalue()

    def prepare(self, outgoing: Outgoing) -> None:
        try:
            self.ahead = (outgoing.message_id, self.render(outgoing))
        except Exception as exc:
            self.ahead = (outgoing.message_id, exc)

    def _rendered(self, outgoing: Outgoing) -> tuple[EmailMessage, list[str], bytes | None]:
        ahead, self.ahead = self.ahead, None
        if ahead is None or ahead[0] != outgoing.message_id:
            return self.render(outgoing)
        if isinstance(ahead[1], Exception):
            raise ahead[1]
        return ahead[1]

    def send(self, outgoing: Outgoing, *, before_handover: Callable[[], None] | None = None,
             while_waiting: Callable[[], None] | None = None) -> str | None:
        try:
            mail, envelope, data = self._rendered(outgoing)
        except (ValueError, KeyError, TypeError) as exc:
            # A message that cannot be written as mail will not become writable by retrying.
            raise DeliveryError(f"unsendable_{type(exc).__name__}", permanent=True) from None
        international = not all(address.isascii() for address in (*envelope, str(mail.get("Reply-To", ""))))
        for fresh in (False, True):
            try:
                if self.smtp is None:
                    fresh = True
                    self.smtp = self._connect()
                self.smtp.before_data, self.smtp.while_waiting = before_handover, while_waiting
                if international:
                    refused = self._send_international(mail, envelope)
                elif data is not None:
                    refused = self.smtp.sendmail(self.settings.mail_from, envelope, data)  # send_message() less its flattening
                else:
                    refused = self.smtp.send_message(mail, from_addr=self.settings.mail_from, to_addrs=envelope)
                if refused:
                    log.warning("some envelope recipients refused", extra={"fields": {"message_id": outgoing.message_id, "refused": len(refused), "recipients": len(envelope)}})
                return None
            except smtplib.SMTPServerDisconnected:
                self.close()
                if fresh:
                    raise DeliveryError("smtp_disconnected", permanent=False) from None
            except smtplib.SMTPRecipientsRefused as exc:
                codes = [code for code, _ in exc.recipients.values()]
                self._reset()
                raise DeliveryError(f"smtp_{min(codes)}", permanent=all(code >= 500 for code in codes)) from None
            except smtplib.SMTPResponseException as exc:
                self._reset()
                raise DeliveryError(f"smtp_{exc.smtp_code}", permanent=exc.smtp_code >= 500) from None
            except (smtplib.SMTPException, OSError) as exc:
                self.close()
                raise DeliveryError(type(exc).__name__, permanent=False) from None
            except Exception:
                self.close()  # the hook failed mid-transaction: start the next message on a clean connection
                raise
        return None

    def _send_international(self, mail: EmailMessage, envelope: list[str]) -> dict:
        """A mailbox name in Lao (or any non-ASCII) script travels only as SMTPUTF8, headers in UTF-8."""
        self.smtp.ehlo_or_helo_if_needed()
        if not self.smtp.has_extn("smtputf8"):
            # Retrying cannot help while the relay lacks SMTPUTF8: failed now rather than deferred for a day.
            raise DeliveryError("smtputf8_not_offered", permanent=True)
        return self.smtp.sendmail(self.settings.mail_from, envelope, mail.as_bytes(policy=mail.policy.clone(utf8=True, linesep="\r\n")),
                                  mail_options=("SMTPUTF8", "BODY=8BITMIME"))

    def _reset(self) -> None:
        try:
            if self.smtp is not None:
                self.smtp.rset()
        except (smtplib.SMTPException, OSError):
            self.close()

    def close(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (smtplib.SMTPException, OSError):
                pass
        self.smtp = None


def _wire(address: str) -> str:
    """The domain in IDNA A-labels (ລາວ -> xn--q7ce6a), which every server takes; a non-ASCII local part stays."""
    if address.isascii():
        return address
    local, _, domain = address.rpartition("@")
    return address if domain.isascii() else f"{local}@{idna.encode(domain, uts46=True).decode()}"


def _header_address(name: str | None, address: str) -> str:
    if address.isascii():
        return formataddr((name or "", address))
    # formataddr refuses non-ASCII local parts; such mail goes out as SMTPUTF8, whose headers are UTF-8 as written.
    return f'"{quote(name)}" <{address}>' if name else address


class HttpSmsGateway:
    """POSTs {to, from, text, reference} as JSON to the configured gateway; its JSON `id` is the provider reference."""

    def __init__(self, settings: MessagingSettings):
        self.settings = settings
        headers = {"Authorization": f"Bearer {settings.sms_gateway_token}"} if settings.sms_gateway_token else {}
        self.http = new_client(timeout=10.0, headers=headers)

    def prepare(self, outgoing: Outgoing) -> None:
        pass  # nothing worth doing ahead of the POST

    def send(self, outgoing: Outgoing, *, before_handover: Callable[[], None] | None = None,
             while_waiting: Callable[[], None] | None = None) -> str | None:
        if not self.settings.sms_gateway_url:
            raise DeliveryError("sms_gateway_not_configured", permanent=False)
        if before_handover is not None:
            before_handover()
        payload = {"to": outgoing.recipient["phoneNumber"], "from": self.settings.sms_sender_id,
                   "text": outgoing.content["content"], "reference": outgoing.message_id}
        try:
            response = self.http.post(self.settings.sms_gateway_url, json=payload)
        except httpx.HTTPError as exc:
            raise DeliveryError(type(exc).__name__, permanent=False) from None
        if response.status_code >= 400:
            permanent = response.status_code < 500 and response.status_code not in (408, 429)
            raise DeliveryError(f"http_{response.status_code}", permanent=permanent)
        try:
            reference = response.json().get("id")
        except (ValueError, AttributeError):
            reference = None
        return str(reference) if reference is not None else None

    def close(self) -> None:
        self.http.close()


def default_senders(settings: MessagingSettings) -> dict[str, Sender]:
    return {"email": SmtpMailer(settings), "sms": HttpSmsGateway(settings)}
