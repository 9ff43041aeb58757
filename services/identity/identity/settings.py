"""Settings of the identity service (environment variables; see the README's table)."""
from typing import Annotated

from pydantic import field_validator, model_validator
from pydantic_settings import NoDecode

from kernel.settings import ServiceSettings, _split_csv

DEV_SECRET = "dev-only-change-me"


class IdentitySettings(ServiceSettings):
    service_name: str = "identity"
    port: int = 8001
    keycloak_url: str = ""  # empty: no Keycloak; staff sign in with identity's own accounts
    keycloak_realm: str = "govstack"
    keycloak_admin_username: str = ""
    keycloak_admin_password: str = ""
    key_encryption_secret: str = DEV_SECRET  # wraps signing keys at rest and keys pairwise subjects; set a real secret in production

    signing_key_rotation_days: int = 90  # a new key signs after this; the previous one stays published
    signing_key_overlap_days: int = 30  # how long a retired key stays in the JWKS
    authorize_transaction_seconds: int = 600  # the user has this long to log in and consent
    authorization_code_seconds: int = 60
    access_token_seconds: int = 900
    id_token_seconds: int = 900
    client_assertion_max_seconds: int = 600  # a client assertion valid for longer than this is refused
    link_code_seconds: int = 60  # the wallet must scan the QR code within this
    link_poll_seconds: float = 2.5  # longest wait of the link-status / link-auth-code long polls (clients time out at 3 s)
    wallet_assertion_max_seconds: int = 300  # a WLA challenge JWT valid for longer than this is refused
    wallet_certificate_days: int = 365
    otp_seconds: int = 180
    otp_max_attempts: int = 3  # wrong codes per sent code
    otp_max_sends: int = 3  # codes per login transaction
    # Across transactions (an attacker can open any number of them), within otp_limit_window_seconds:
    otp_person_max_sends: int = 10  # codes sent per person, for login, wallets and wallet binding together
    otp_binding_max_sends: int = 5  # wallet-binding codes per wallet partner and ID number
    otp_person_max_failures: int = 10  # wrong codes per person; then the person's OTP sign-in is locked
    otp_limit_window_seconds: int = 3600
    otp_lockout_seconds: int = 3600  # how long a person's OTP sign-in (codes sent and checked) stays locked
    maintenance_interval_seconds: float = 10.0  # the consumer process purges expired rows and sent OTP commands this often
    max_failed_attempts: int = 5
    lockout_seconds: int = 900
    staff_token_audiences: Annotated[list[str], NoDecode] = ["identity", "registration", "consent", "messaging", "gateway"]
    # OIDC clients whose /authorize login page also offers staff sign-in (username + password): the staff consoles' client.
    staff_login_clients: Annotated[list[str], NoDecode] = ["govstack-portal"]
    # Where browsers reach the citizen portal: FIXTURES=demo registers its sign-in callback there (make run sets it).
    portal_url: str = "http://localhost:8080"

    _split_audiences = field_validator("staff_token_audiences", "staff_login_clients", mode="before")(_split_csv)

    @model_validator(mode="after")
    def _refuse_dev_secret_in_production(self):
        if self.environment == "production" and self.key_encryption_secret == DEV_SECRET:
            raise ValueError("KEY_ENCRYPTION_SECRET must be set to a real secret in production")
        return self

    @property
    def issuer(self) -> str:
        return self.public_url.rstrip("/")

    @property
    def token_endpoint(self) -> str:
        return self.issuer + "/oauth/token"
