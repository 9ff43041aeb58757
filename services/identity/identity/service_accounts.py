"""Service accounts for the client-credentials grant (one per calling service)."""
from sqlmodel import Session

from identity.clients import public_jwk
from identity.models import ServiceAccount


def upsert(session: Session, *, client_id: str, name: str, public_key: dict, scopes: list[str], roles: list[str]) -> ServiceAccount:
    """Create or update by client_id; the key must be a public RSA/EC JWK (raises clients.Invalid otherwise)."""
    key = public_jwk(public_key)
    account = session.get(ServiceAccount, client_id) or ServiceAccount(client_id=client_id, name=name, public_key=key)
    account.name, account.public_key, account.scopes, account.roles = name, key, list(scopes), list(roles)
    session.add(account)
    return account
