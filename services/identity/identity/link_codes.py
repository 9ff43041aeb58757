"""Link codes of linked (QR code + wallet) authorization: issued for a login transaction, shown as a QR code on its page."""
import hashlib
import secrets
from datetime import timedelta

import segno

from identity.models import AuthTransaction, OidcClient, utcnow
from identity.settings import IdentitySettings

LINKED_ACRS = ("idbb:acr:linked-wallet", "idbb:acr:linked-wallet-static-code")


def offered(client: OidcClient) -> bool:
    """The login page shows the QR panel to clients that registered a linked-wallet ACR."""
    return any(acr in LINKED_ACRS for acr in client.auth_context_refs)


def digest(link_code: str) -> str:
    return hashlib.sha256(link_code.encode()).hexdigest()


def issue(transaction: AuthTransaction, settings: IdentitySettings) -> str:
    """A new link code for the transaction, replacing an unredeemed one (the page refreshes its QR code); the caller commits."""
    link_code = secrets.token_urlsafe(16)
    transaction.link_code_hash = digest(link_code)  # only the hash is stored
    transaction.link_code_expires_at = utcnow() + timedelta(seconds=settings.link_code_seconds)
    return link_code


def qr_svg(link_code: str) -> str:
    """The QR code of the link code as inline SVG, drawn here so the page needs no script library or image service."""
    return segno.make(link_code, error="m").svg_inline(scale=5, dark="#000", light="#fff")
