"""One store's pass as the daemon runs it: the reconcile pass, automatic
items only, recorded as a ``daemon`` run, read back into a ``PassOutcome``
for the schedule and metrics.

The daemon's stop reaches the pass twice: its clock wakes from any wait at
once, and the apply step asks ``should_stop`` between batches, so a stopped
pass ends after the batch in flight (the run recorded as ``stopped``)."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

from reconciler.apply.executor import HUB_ALREADY, ChangeResult
from reconciler.clock import Clock
from reconciler.daemon import logs
from reconciler.daemon.reload import ConfigGeneration
from reconciler.daemon.scheduler import PassOutcome
from reconciler.hub import open_state
from reconciler.hub.records import RunKind
from reconciler.plan.model import Label
from reconciler.policy import EffectivePolicy, Policy, syncs_automatically
from reconciler.runner import PassOptions, PassResult, run_pass

log = logging.getLogger(__name__)


@dataclass
class CountingClock:
    """A clock that counts the waits a pass makes, by cause.

    The adapters wait only through their clock. The retry helper says why
    (``sleep_for``): a rate limit's refusal (429, THROTTLED) is a throttle
    wait, a failure's retry (5xx, timeout, dropped connection) a retry wait,
    a wait for a Magento bulk's status a poll wait. A plain ``sleep`` is an
    adapter pacing itself to the channel's rate limit, a throttle wait.
    """

    inner: Clock
    waits: int = 0
    retry_waits: int = 0
    poll_waits: int = 0
    waited: list[float] = field(default_factory=list)

    def monotonic(self) -> float:
        return self.inner.monotonic()

    def sleep(self, seconds: float) -> None:
        self.sleep_for(seconds, "throttle")

    def sleep_for(self, seconds: float, reason: str) -> None:
        if seconds > 0:
            if reason == "retry":
                self.retry_waits += 1
            elif reason == "poll":
                self.poll_waits += 1
            else:
                self.waits += 1
            self.waited.append(seconds)
        self.inner.sleep(seconds)


def store_pass(
    generation: ConfigGeneration,
    store: str,
    clock: CountingClock,
    should_stop: Callable[[], bool] | None = None,
    *,
    state_url: str,
    env: Mapping[str, str] | None = None,
    groups: frozenset[float] | None = None,
) -> PassOutcome:
    """Pass one store under a validated config snapshot: every automatic SKU,
    or, when only some interval ``groups`` are due, the SKUs that sync on
    those intervals."""
    options = PassOptions(
        state_url=state_url, stores=(store,), env=env, kind=RunKind.DAEMON
    )
    if groups is not None:
        due = due_skus(generation.policy, store, state_url, groups)
        log.info(
            "daemon.pass.due",
            extra=logs.fields(
                intervals=",".join(f"{group:g}s" for group in sorted(groups)),
                sku_count=len(due),
            ),
        )
        if not due:
            return PassOutcome(ok=True)
        options = replace(options, due_skus=due)
    result = run_pass(generation.root, options, clock=clock, should_stop=should_stop)
    return outcome_of(result, store, clock.waits, clock.retry_waits, clock.poll_waits)


def due_skus(
    policy: Policy, store: str, state_url: str, groups: frozenset[float]
) -> tuple[str, ...]:
    """The hub's SKUs that sync automatically on ``store`` on one of the
    interval ``groups`` (seconds)."""
    with open_state(state_url) as state:
        hub = state.hub_records()
    return tuple(
        sorted(
            sku
            for sku, record in hub.items()
            if _in_groups(policy.for_sku(store, sku, record.vendor), groups)
        )
    )


def _in_groups(settings: EffectivePolicy, groups: frozenset[float]) -> bool:
    return syncs_automatically(settings) and settings.interval.value in groups


def outcome_of(
    result: PassResult,
    store: str,
    throttle_waits: int,
    retry_waits: int = 0,
    poll_waits: int = 0,
) -> PassOutcome:
    changes = Counter(_outcome_name(r) for r in result.results)
    by_store = Counter((r.change.store, _outcome_name(r)) for r in result.results)
    failed = len(result.failed_items)
    plan = result.plan.store(store)
    drift = 0
    if plan is not None:
        drift = sum(1 for c in plan.pulls + plan.pushes if c.label is Label.DRIFT)

    errors = [f"{f.stage}: {f.message}" for f in result.failures]
    if failed:
        errors.append(f"{failed} item{'s' * (failed != 1)} failed to apply")
    return PassOutcome(
        ok=result.exit_code == 0,
        run_id=result.run_id,
        changes=dict(changes),
        changes_by_store=dict(by_store),
        drift=drift,
        failed_items=failed,
        throttle_waits=throttle_waits,
        retry_waits=retry_waits,
        poll_waits=poll_waits,
        pending=failed + len(result.failures) + result.left,
        error="; ".join(errors) or None,
        stopped=result.left > 0,
    )


def _outcome_name(result: ChangeResult) -> str:
    """The change's outcome for metrics; a pull another pass had already made
    is ``already``, not a change this pass applied."""
    return "already" if result.message == HUB_ALREADY else result.outcome.value
