"""Delivery channels: email over SMTP, SMS through a provider (an HTTP gateway now; SMPP can implement the same Protocol)."""
import logging
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, formatdate
from typing import Protocol

import httpx

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
    def send(self, outgoing: Outgoing, *, before_handover: Callable[[], None] | None = None) -> str | None:
        """Hand the message to the provider; returns the provider's reference, raises DeliveryError.

        before_handover runs at the last moment before the provider can take the message (SMTP: before DATA).
        """

    def close(self) -> None: ...


class _Smtp(smtplib.SMTP):
    """smtplib's client with a hook just before DATA, after which the server may take the message."""

    before_data: Callable[[], None] | None = None

    def data(self, msg):
        if self.before_data is not None:
            self.before_data()
        return super().data(msg)


class SmtpMailer:
    """One SMTP connection, kept open between messages and reopened when the server drops it."""

    def __init__(self, settings: MessagingSettings):
        self.settings = settings
        self.smtp: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        settings = self.settings
        smtp = _Smtp(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_seconds)
        if settings.smtp_starttls:
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_username:
            smtp.login(settings.smtp_username, settings.smtp_password)
        return smtp

    def compose(self, outgoing: Outgoing) -> tuple[EmailMessage, list[str]]:
        sender, recipient, content = outgoing.sender or {}, outgoing.recipient, outgoing.content
        mail = EmailMessage()
        mail["Subject"] = content["title"]
        # Our own address: relays refuse mail "from" domains they do not serve; the caller's address goes in Reply-To.
        mail["From"] = formataddr((sender.get("name") or sender.get("organisationName") or "", self.settings.mail_from))
        reply_to = sender.get("replyTo") or sender.get("email")
        if reply_to:
            mail["Reply-To"] = reply_to
        mail["To"] = formataddr((recipient.get("name") or "", recipient["email"]))
        if recipient.get("emailCC"):
            mail["Cc"] = recipient["emailCC"]
        mail["Date"] = formatdate(localtime=False)
        # A stable Message-ID lets receiving systems drop the copy of a resend after a worker crash.
        mail["Message-ID"] = f"<{outgoing.message_id}@{self.settings.mail_domain}>"
        mail.set_content(content["content"], charset="utf-8")
        envelope = [recipient["email"], *(recipient[key] for key in ("emailCC", "emailBCC") if recipient.get(key))]
        return mail, envelope

    def send(self, outgoing: Outgoing, *, before_handover: Callable[[], None] | None = None) -> str | None:
        try:
            mail, envelope = self.compose(outgoing)
        except (ValueError, KeyError, TypeError) as exc:
            # A message that cannot be written as mail will not become writable by retrying.
            raise DeliveryError(f"unsendable_{type(exc).__name__}", permanent=True) from None
        for fresh in (False, True):
            try:
                if self.smtp is None:
                    fresh = True
                    self.smtp = self._connect()
                self.smtp.before_data = before_handover
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


class HttpSmsGateway:
    """POSTs {to, from, text, reference} as JSON to the configured gateway; its JSON `id` is the provider reference."""

    def __init__(self, settings: MessagingSettings):
        self.settings = settings
        headers = {"Authorization": f"Bearer {settings.sms_gateway_token}"} if settings.sms_gateway_token else {}
        self.http = httpx.Client(timeout=10.0, headers=headers)

    def send(self, outgoing: Outgoing, *, before_handover: Callable[[], None] | None = None) -> str | None:
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
