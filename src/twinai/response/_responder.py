"""The responder: a verdict goes in, a checked and audited block comes out.

It joins the policy (may this address be blocked?), the firewall backend (do
it) and the audit log (write it down), so that the live loop and the operator
command take the same path.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from twinai.errors import ResponseError
from twinai.response._audit import AuditLog
from twinai.response._duration import DEFAULT_BLOCK_TTL_S, check_ttl
from twinai.response._firewall import BlockResult, Firewall, IPAddress, parse_ip
from twinai.response._policy import BlockDecision, BlockPolicy, BlockRequest

__all__ = ["WATCH_WHO", "Responder", "Response"]

log = logging.getLogger(__name__)

#: The ``who`` of blocks made by the live loop.
WATCH_WHO = "twinai-watch"

# A scanner keeps producing alerts while blocked flows drain; renewing on each
# would rewrite nft and the audit log per alert. Renew only once less than half
# the TTL is left, so a persistent attacker stays blocked without the churn.
RENEW_WHEN_LEFT_FRACTION = 0.5


@dataclass(frozen=True)
class Response:
    """What :meth:`Responder.respond` did: the decision and, if any, the block.

    ``result`` is None when the policy refused (``decision.block`` False) or
    when this responder blocked the address recently enough that renewing
    would only add churn (``decision.block`` True).
    """

    decision: BlockDecision
    result: BlockResult | None


class Responder:
    """Blocks addresses a verdict names, within the policy, with an audit line.

    Parameters
    ----------
    firewall : Firewall
        The backend (:class:`NftablesFirewall` or :class:`DryRunFirewall`).
    policy : BlockPolicy
        Who may be blocked.
    audit : AuditLog
        Where every block and unblock is recorded.
    who : str
        Recorded as the author of each action (an operator name or
        ``"twinai-watch"``).
    ttl_s : int
        Block lifetime when a call gives none.
    """

    def __init__(
        self,
        firewall: Firewall,
        policy: BlockPolicy,
        audit: AuditLog,
        *,
        who: str = WATCH_WHO,
        ttl_s: int = DEFAULT_BLOCK_TTL_S,
        netns: str | None = None,
    ) -> None:
        self.firewall = firewall
        self.policy = policy
        self.audit = audit
        self.who = who
        self.ttl_s = check_ttl(ttl_s)
        self.netns = netns
        self._blocked_until: dict[IPAddress, float] = {}

    def respond(self, request: BlockRequest, *, ttl_s: int | None = None) -> Response:
        """Block ``request.ip`` if the policy allows; return what happened.

        Raises
        ------
        ResponseError
            When the firewall could not apply an allowed block (logged at ERROR).
        """
        ttl_s = self.ttl_s if ttl_s is None else check_ttl(ttl_s)
        decision = self.policy.decide(request)
        if not decision.block:
            return Response(decision, None)
        if self._recently_blocked(decision.ip, ttl_s):
            log.debug("%s still blocked for long enough; not renewing", decision.ip)
            return Response(decision, None)

        try:
            result = self.firewall.block(decision.ip, ttl_s, request.reason)
        except ResponseError:
            log.error("block of %s not applied: %s", decision.ip, decision.why)
            raise

        self._blocked_until[decision.ip] = time.monotonic() + ttl_s
        self.audit.record(
            result,
            who=self.who,
            why=request.reason,
            fold=request.fold,
            direction=decision.direction,
            netns=self.netns,
        )
        return Response(decision, result)

    def unblock(self, ip: str | IPAddress, *, reason: str) -> BlockResult:
        """Lift the block on ``ip`` and record it, whoever made the block."""
        address = parse_ip(ip)
        result = self.firewall.unblock(address)
        self._blocked_until.pop(address, None)
        self.audit.record(result, who=self.who, why=reason, netns=self.netns)
        return result

    def _recently_blocked(self, ip: IPAddress, ttl_s: int) -> bool:
        """True when our own block on ``ip`` has more than the renew share left."""
        left_s = self._blocked_until.get(ip, 0.0) - time.monotonic()
        return left_s > ttl_s * RENEW_WHEN_LEFT_FRACTION
