"""Consent-gated exchange: ask the Consent BB whether an individual's consent for a data agreement is valid."""
import asyncio
import logging
import time

import aiohttp
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select
from starlette.concurrency import run_in_threadpool

from gateway.models import ConsentWithdrawal
from kernel.service_token import ServiceTokenSource, TokenUnavailable

log = logging.getLogger(__name__)


class ConsentUnavailable(Exception):
    pass


class ConsentChecker:
    """Answers cached briefly; withdrawals recorded by the consumer drop matching answers within poll_seconds."""

    def __init__(self, engine: Engine, *, consent_url: str, cache_seconds: float, timeout: float, poll_seconds: float,
                 token_source: ServiceTokenSource | None = None):
        self.engine, self.consent_url, self.token_source = engine, consent_url.rstrip("/"), token_source
        self.cache_seconds, self.poll_seconds = cache_seconds, poll_seconds
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.cache: dict[tuple[str, str], tuple[bool, float]] = {}
        self.last_withdrawal = 0
        self._task: asyncio.Task | None = None

    async def is_valid(self, http: aiohttp.ClientSession, *, individual_id: str, agreement_id: str) -> bool:
        key = (individual_id, agreement_id)
        cached = self.cache.get(key)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        url = f"{self.consent_url}/service/verification/consent-record/"
        try:
            headers = {"Authorization": f"Bearer {await self.token_source.get(http)}"} if self.token_source else {}
        except TokenUnavailable as exc:
            raise ConsentUnavailable("no token for the Consent BB") from exc
        try:
            async with http.get(url, params={"individualId": individual_id, "dataAgreementId": agreement_id},
                                headers=headers, timeout=self.timeout) as response:
                if response.status != 200:
                    raise ConsentUnavailable(f"consent answered {response.status}")
                valid = (await response.json()).get("valid") is True
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
            raise ConsentUnavailable(type(exc).__name__) from exc
        self.cache[key] = (valid, time.monotonic() + self.cache_seconds)
        return valid

    def forget(self, *, individual_id: str | None, agreement_id: str | None) -> None:
        for key in list(self.cache):
            if (individual_id is None or key[0] == individual_id) and (agreement_id is None or key[1] == agreement_id):
                self.cache.pop(key, None)

    def _new_withdrawals(self) -> list[ConsentWithdrawal]:
        with Session(self.engine) as session:
            return list(session.exec(select(ConsentWithdrawal).where(ConsentWithdrawal.seq > self.last_withdrawal)
                                     .order_by(ConsentWithdrawal.seq)))

    def _latest_seq(self) -> int:
        with Session(self.engine) as session:
            return session.exec(select(func.max(ConsentWithdrawal.seq))).one() or 0

    async def start(self) -> None:
        # Withdrawals from before this process started cannot be in its cache.
        self.last_withdrawal = await run_in_threadpool(self._latest_seq)
        self._task = asyncio.create_task(self._poll())

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self.poll_seconds)
            try:
                for withdrawal in await run_in_threadpool(self._new_withdrawals):
                    self.forget(individual_id=withdrawal.individual_id, agreement_id=withdrawal.data_agreement_id)
                    self.last_withdrawal = withdrawal.seq
            except Exception:
                log.exception("reading consent withdrawals failed")
