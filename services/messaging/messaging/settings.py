"""Settings of the messaging service (environment variables; see the README's table)."""
from typing import Annotated

from pydantic import field_validator, model_validator
from pydantic_settings import NoDecode

from kernel.settings import ServiceSettings, _split_csv

_DEVELOPMENT_SECRET = "development-only-messaging-secret"
# DEV-ONLY private key of the service account messaging-bb; identity's demo fixture registers its public half.
DEV_SERVICE_PRIVATE_JWK = '{"n": "2yK1gnRTJ7meC-AiJy8OWSMx6UqPWt7d8-1DF3Cbsh2K1MnlMx-l-XmAt6QLyXvmvWwmtrrDApcASArtOvpo_dapvUJUmtw20ljlPsskrxyQuLVInn3wZ5hVX6QvA49lyAmlPjDgt_2uHY4WDfL8k-AU-djR1gte2rQxXH45Sq5tT8e7FbCpLom37CAie7WTtift5Llg9UN8ynaz_77ieGfbn9BrAtHWCIW3VuxDoOWuU0XDzkPXjzrN8zxLoS0HuwpoQWI25VcRY4B0Dn1YBA6cuIUIakurTU5Uc1XBQnVELU_QZ3EZFhph35v8Yf5jZD8atZrwfo6AGBw9f_9vYQ", "e": "AQAB", "d": "F6663JgrQ3wPPVvR_RecDpyb4IlXEFxNMvdFnLMmFHwWXLRcIagONTXBKDehsXsDPx4A2hc5i55boK2ToV_eOG66ZfKU966MezOxxNVKB-XHqzqmWECmml-PfHhfP1yARLvsIJpCMwhGyLlqH0RPMUESq0TYOrB8Zhj6y7L1iKE5i0h6tNMofVlJtYJFqZS3sq2ZzgbY4AXBk17b3SqTygpRS1nUTdNOew5JzDLpv5ksjSmTslywpmIh3jaGV3xiQpjA8LShJT_aPa9R6GEbGjZb7arK86fBe8BH9yTGuylPUEEwLDOLf2ICPslHU6ktYeT4NQHA9RCCtJlGeQ3eRQ", "p": "7qOSi2kYF8s445ELyxlgeCP0Etn6PiB_gn0cWpK97qhpclbfwV5Gyn6_SIP3_ot1OSL3O8F0V_N0S-h0weCUG8EYhx6zpjyVXnvahJoyTLI6OktWP-JqCHrw4nRS92x3zCcXVt2Q86Jj1dzrcsjABN_R2Nv26nQ73OTSxaHXtH0", "q": "6xPnjIkdyK3hUE0qJe0YHQeY1X-PHPG_l3q-SdjFBukQn_cGIG8XSpi89ZsmJpPiJM9dDrUQz35TaCjRsU_NJnVSiV6yXZeGZUsBmkX7otxO7Rez7yAmMkuzTpPcoj4C8hJdb04DU1AAnqZ1OIna6HDXjbMTieRIQR6F2n5Hj7U", "dp": "6ugZWSIalVF2rowZD9PrIlhB6kyoCH_1BH4jawUH8eXV5redirtC9BHQOZGujOK6gYPp2uiTngAIerBYPoDTSn7JpjiSnxED9_3zHJSs7tKCft-qBzjZJ3_dnwzinqwnQM86KkfwZ-NyYxMUsejrG-E2sEHWzPOd-dNFp0WpEAE", "dq": "hgTkBoAJheZzxOcpN1QTYkF5hYZindrJIuAsakd2FHl9K-WWDZmoCrRHTjK0rluzGs9Ju1_JBLJ9dK2I1vCrAdjzRDPDto3zZf48HKr3SiMVsB_KSnLms9fqksrDh4-Y-E82C4XLaYz7vXci7yfQsKHckgFdC0klVFLFdwp1W90", "qi": "djGCyyttlrahAj7o8C6JXsCriAC69WRSX6H5scAeT__4XSQIt0I2LCRlfjiCU-fNjLMVYaOjP9dNW1ZP9mtOR7WkiFk5uAkPmLDhbJlhZVbKELYWNGbRtm3GzgxVJAnYLnKk-_TqJW94J1wXHqjffc_RMHhXpTJzJUzypCC0iYM", "kid": "messaging-bb-dev-1", "use": "sig", "alg": "RS256", "kty": "RSA"}'


class MessagingSettings(ServiceSettings):
    service_name: str = "messaging"
    port: int = 8004

    # Encryption at rest and the keyed content hash both derive from this; set a long random value in production.
    messaging_secret: str = _DEVELOPMENT_SECRET
    retention_days: int = 30
    duplicate_window_seconds: int = 600  # same content from the same caller within this window is one request
    max_batch_recipients: int = 1000
    max_body_bytes: int = 1_000_000
    max_content_chars: int = 100_000
    sms_allowed_regions: Annotated[list[str], NoDecode] = ["LA"]
    # Messages one api key may have accepted per rolling minute / day (0: unlimited); an admin can set a key's own.
    quota_messages_per_minute: int = 0
    quota_messages_per_day: int = 0

    # Delivery worker: retries with exponential backoff until the retry window ends, then the message failed.
    retry_base_seconds: float = 30.0
    retry_max_interval_seconds: float = 3600.0
    retry_window_seconds: float = 24 * 3600.0
    scheduler_poll_seconds: float = 1.0
    requeue_stuck_after_seconds: float = 900.0  # a queued message untouched this long has its delivery requested again
    worker_idle_seconds: float = 0.05
    worker_prefetch: int = 100  # unacked delivery requests a worker holds per lane
    worker_batch_size: int = 50  # messages a worker claims, sends over one connection and records in one commit

    smtp_host: str = "localhost"
    smtp_port: int = 25
    smtp_starttls: bool = False  # on: never sends unless the server offers STARTTLS and its certificate verifies
    smtp_ca_file: str = ""  # PEM file of the CAs trusted for the SMTP server's certificate; empty: the system's
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_timeout_seconds: float = 30.0
    mail_from: str = "no-reply@messaging.gov.la"  # envelope and From address; callers' addresses go in Reply-To
    mail_domain: str = "messaging.gov.la"  # right-hand side of the Message-ID we set

    sms_gateway_url: str = ""  # the HTTP SMS gateway that accepts POSTed messages
    sms_gateway_token: str = ""
    sms_sender_id: str = "GOV.LA"
    # Set: the gateway's delivery reports (POST /callback/sms/delivery-report with this bearer token) settle each SMS,
    # which stays "processing" until then. Empty: an SMS accepted by the gateway counts as delivered.
    sms_delivery_report_token: str = ""
    # A sent SMS whose report has not come by then becomes "unconfirmed" (counted as delivered, as the carrier took it).
    sms_delivery_report_timeout_seconds: float = 24 * 3600.0
    callback_timeout_seconds: float = 10.0
    # Callback URIs come from callers and are POSTed to by the consumer: in production list the allowed prefixes
    # (e.g. https://registration.gov.la/) so a caller cannot aim us at internal services. Empty: any http(s) URL whose
    # host resolves to public addresses only (see callback_allow_private). A listed prefix is trusted as it is.
    callback_url_prefixes: Annotated[list[str], NoDecode] = []
    # Callback hosts on loopback, private, link-local, multicast or unspecified addresses; empty (None): allowed
    # outside production only, as local runs and tests call back to 127.0.0.1.
    callback_allow_private: bool | None = None

    # Notifying applicants of registration events: our own service token (client credentials, private_key_jwt) and
    # the Registration BB reached through the gateway as the application messaging-bb.
    identity_url: str = "http://localhost:8001"  # its token endpoint is <identity_url>/oauth/token
    service_client_id: str = "messaging-bb"
    service_private_jwk: str = DEV_SERVICE_PRIVATE_JWK  # the private JWK as JSON
    registration_audience: str = "registration"
    gateway_client: str = "LA/GOV/LA-DGC/messaging-bb"  # Information-Mediator-Client: INSTANCE/CLASS/MEMBER/APPLICATION
    registration_gateway_path: str = "/r1/LA/GOV/LA-DGC/registration-bb/registration"
    registration_timeout_seconds: float = 10.0

    _split_lists = field_validator("sms_allowed_regions", "callback_url_prefixes", mode="before")(_split_csv)

    @property
    def callback_private_allowed(self) -> bool:
        return self.environment != "production" if self.callback_allow_private is None else self.callback_allow_private

    @model_validator(mode="after")
    def _no_development_secret_in_production(self):
        if self.environment == "production" and self.messaging_secret == _DEVELOPMENT_SECRET:
            raise ValueError("MESSAGING_SECRET must be set in production")
        if self.environment == "production" and self.service_private_jwk == DEV_SERVICE_PRIVATE_JWK:
            raise ValueError("SERVICE_PRIVATE_JWK must be set in production (the default is a development key)")
        if self.environment == "production" and self.smtp_username and not self.smtp_starttls:
            raise ValueError("SMTP_USERNAME needs SMTP_STARTTLS in production (the password would cross the network in clear)")
        return self
