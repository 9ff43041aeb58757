"""Staff accounts (admin, designer, operator, auditor): local argon2 accounts, or Keycloak users when KEYCLOAK_URL is set.

python -m identity.staff create --username NAME --role ROLE [--role ROLE] (password read from STAFF_PASSWORD or a prompt)
"""
import argparse
import getpass
import os
import sys

from sqlmodel import select

from kernel.db import UnitOfWork, make_engine, migrate
from identity.models import StaffAccount
from identity.secrets_check import hash_secret
from identity.settings import IdentitySettings

ROLES = ("admin", "designer", "operator", "auditor")


class Invalid(ValueError):
    pass


def create_local(session, *, username: str, password: str, roles: list[str]) -> StaffAccount:
    """Create or update (by username) a local staff account; the caller commits."""
    if not username or len(username) > 100:
        raise Invalid("username must be 1 to 100 characters")
    if len(password) < 12:
        raise Invalid("password must be at least 12 characters")
    if not roles or any(role not in ROLES for role in roles):
        raise Invalid(f"roles must be among {', '.join(ROLES)}")
    account = session.exec(select(StaffAccount).where(StaffAccount.username == username)).first()
    if account is None:
        account = StaffAccount(username=username, password_hash=hash_secret(password), roles=list(roles))
    else:
        account.password_hash, account.roles, account.failed_attempts, account.locked_until = hash_secret(password), list(roles), 0, None
    session.add(account)
    return account


def create_in_keycloak(settings: IdentitySettings, *, username: str, password: str, roles: list[str]) -> str:
    """Provision the user and its realm roles in Keycloak (compose); needs a running Keycloak, so untested here."""
    from keycloak import KeycloakAdmin

    admin = KeycloakAdmin(server_url=settings.keycloak_url, username=settings.keycloak_admin_username,
                          password=settings.keycloak_admin_password, realm_name=settings.keycloak_realm, user_realm_name="master")
    user_id = admin.create_user({"username": username, "enabled": True,
                                 "credentials": [{"type": "password", "value": password, "temporary": False}]}, exist_ok=True)
    admin.assign_realm_roles(user_id, [admin.get_realm_role(role) for role in roles])
    return user_id


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m identity.staff")
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create")
    create.add_argument("--username", required=True)
    create.add_argument("--role", action="append", required=True, choices=ROLES)
    args = parser.parse_args(argv)
    password = os.environ.get("STAFF_PASSWORD") or getpass.getpass("password: ")
    settings = IdentitySettings()
    if settings.keycloak_url:
        create_in_keycloak(settings, username=args.username, password=password, roles=args.role)
        print(f"staff user {args.username} provisioned in Keycloak realm {settings.keycloak_realm}")
        return 0
    engine = make_engine(settings)
    migrate(engine, "identity.migrations")
    with UnitOfWork(engine, source=settings.service_name) as uow:
        try:
            account = create_local(uow.session, username=args.username, password=password, roles=args.role)
        except Invalid as invalid:
            print(f"error: {invalid}", file=sys.stderr)
            return 2
        uow.commit()
    print(f"staff account {account.id} ({', '.join(account.roles)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
