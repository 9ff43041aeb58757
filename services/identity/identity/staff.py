"""Staff accounts: local argon2 accounts, or Keycloak users when KEYCLOAK_URL is set.

python -m identity.staff create --username NAME --role ROLE [--role ROLE] (password read from STAFF_PASSWORD or a prompt)

Roles: the base roles admin, designer, operator and auditor, and the processing roles e-services name for their operators
(e.g. enterprise_reviewer): any name matching ROLE_PATTERN.
"""
import argparse
import getpass
import os
import re
import sys

from sqlmodel import select

from kernel.db import UnitOfWork, make_engine, migrate
from identity.models import StaffAccount
from identity.secrets_check import Outcome, check, hash_secret
from identity.settings import IdentitySettings

BASE_ROLES = ("admin", "designer", "operator", "auditor")
ROLE_PATTERN = re.compile(r"^[a-z][a-z0-9_]{1,63}$")  # a plain token: safe in a JWT claim, a log line and a space-separated list


class Invalid(ValueError):
    pass


def create_local(session, *, username: str, password: str, roles: list[str]) -> StaffAccount:
    """Create or update (by username) a local staff account; the caller commits."""
    if not username or len(username) > 100:
        raise Invalid("username must be 1 to 100 characters")
    if len(password) < 12:
        raise Invalid("password must be at least 12 characters")
    if not roles or any(not isinstance(role, str) or not ROLE_PATTERN.fullmatch(role) for role in roles):
        raise Invalid(f"roles must match {ROLE_PATTERN.pattern} (base roles: {', '.join(BASE_ROLES)})")
    account = session.exec(select(StaffAccount).where(StaffAccount.username == username)).first()
    if account is None:
        account = StaffAccount(username=username, password_hash=hash_secret(password), roles=list(roles))
    else:
        account.password_hash, account.roles, account.failed_attempts, account.locked_until = hash_secret(password), list(roles), 0, None
    session.add(account)
    return account


def sign_in(session, settings: IdentitySettings, *, username: str, password: str) -> tuple[StaffAccount | None, Outcome]:
    """The active account and whether the password matched; a failure counts towards the account's lockout (caller commits)."""
    # Locked until the caller commits: concurrent guesses otherwise each read the same count and lose each other's failures.
    account = session.exec(select(StaffAccount).where(StaffAccount.username == username[:100])
                           .with_for_update().execution_options(populate_existing=True)).first()
    if account is not None and account.status != "active":
        account = None
    outcome = check(account, password[:256], hash_attr="password_hash", max_failures=settings.max_failed_attempts,
                    lockout_seconds=settings.lockout_seconds)
    if account is not None:
        session.add(account)
    return account, outcome


def create_in_keycloak(settings: IdentitySettings, *, username: str, password: str, roles: list[str]) -> str:
    """Provision the user and its realm roles in Keycloak (compose); an existing user keeps its id and gets the roles.

    Tested against a stand-in of the Keycloak admin REST API (tests/test_keycloak_provisioning.py). Roles are looked up
    first, so an unknown role creates nobody.
    """
    from keycloak import KeycloakAdmin

    admin = KeycloakAdmin(server_url=settings.keycloak_url, username=settings.keycloak_admin_username,
                          password=settings.keycloak_admin_password, realm_name=settings.keycloak_realm, user_realm_name="master")
    realm_roles = [admin.get_realm_role(role) for role in roles]
    user_id = admin.create_user({"username": username, "enabled": True,
                                 "credentials": [{"type": "password", "value": password, "temporary": False}]}, exist_ok=True)
    admin.assign_realm_roles(user_id, realm_roles)
    return user_id


def _role(value: str) -> str:
    if not ROLE_PATTERN.fullmatch(value):
        raise argparse.ArgumentTypeError(f"a role must match {ROLE_PATTERN.pattern}")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m identity.staff")
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create")
    create.add_argument("--username", required=True)
    create.add_argument("--role", action="append", required=True, type=_role, help=f"{', '.join(BASE_ROLES)} or an e-service processing role")
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
