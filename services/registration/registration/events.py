"""Events the registration service emits (facts, past tense; ids only, never personal data)."""
from typing import ClassVar

from kernel.events import Event


class _ApplicationEvent(Event):
    application_id: str
    service_id: str
    applicant_sub: str  # the applicant's subject id, so the Messaging BB can reach them; never their name or contacts
    decision_id: str | None = None  # the completed task that made the decision
    language: str = "lo"
    notify_applicant: bool = False  # the e-service's notify_applicant step: whether the Messaging BB should tell the applicant

    def subject(self) -> str | None:
        return self.application_id


class ApplicationSubmitted(_ApplicationEvent):
    type: ClassVar[str] = "registration.application.submitted"


class ApplicationSentBack(_ApplicationEvent):
    type: ClassVar[str] = "registration.application.sent_back"


class ApplicationApproved(_ApplicationEvent):
    type: ClassVar[str] = "registration.application.approved"


class ApplicationRejected(_ApplicationEvent):
    type: ClassVar[str] = "registration.application.rejected"
