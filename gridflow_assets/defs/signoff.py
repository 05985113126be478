"""The ``signoff`` job: a steward's decision recorded from the Dagster UI's Launchpad, with
typed config, exactly as ``gridflow signoff`` records it (``dq/signoff.py``): a refused
decision fails the run with the one-line reason, a recorded one is observed on
``dq/signoffs`` and re-renders the dashboard."""

from enum import Enum

import dagster as dg
from pydantic import Field

from gridflow_assets.dq.signoff import Refused, decide
from gridflow_assets.dq.snapshot import stored_snapshot, write_dashboard
from gridflow_assets.store.resources import GridflowPaths

SIGNOFF_JOB = "signoff"


class Decision(Enum):
    approve = "approve"
    send_back = "send-back"


class SignoffConfig(dg.Config):
    """One decision on one month × utility partition."""

    utility: str = Field(description="Utility id, e.g. IESCO")
    month: str = Field(description="Month of the partition, YYYY-MM")
    decision: Decision = Field(description="approve, or send_back to the utility")
    steward: str = Field(description="Your name, as the trail records it")
    reason: str = Field(description="Why, in your words")
    waived_checks: list[str] = Field(
        default_factory=list,
        description="approve: each failing check waived, as table:check or check; 'all' "
        "waives every failing check (each is listed in the trail)",
    )


@dg.op(name="record_signoff")
def record_signoff(
    context: dg.OpExecutionContext, config: SignoffConfig, paths: GridflowPaths
) -> None:
    store = paths.store()
    try:
        row = decide(
            store,
            config.utility,
            config.month,
            config.decision.value,
            config.steward,
            config.reason,
            config.waived_checks,
            via="dagster",
        )
    except Refused as exc:
        raise dg.Failure(description=str(exc)) from None
    context.log_event(
        dg.AssetObservation(
            asset_key=["dq", "signoffs"],
            metadata={
                "utility": config.utility,
                "month": config.month,
                "decision": row["decision"],
                "steward": row["steward"],
                "reason": row["reason"],
                "waived_checks": row["waived_checks"],
                "content_digest": row["content_digest"],
                "decision_id": row["decision_id"],
            },
        )
    )
    write_dashboard(stored_snapshot(store), paths.reports)
    context.log.info(
        f"{config.utility} {config.month} {row['decision']} by {row['steward']}: {row['reason']}"
    )


@dg.job(
    name=SIGNOFF_JOB,
    executor_def=dg.in_process_executor,
    description="A steward's decision on a partition (approve with waivers, or send back), "
    "recorded in dq/signoffs. Launch it from the Launchpad with its config.",
)
def signoff_job() -> None:
    record_signoff()
