"""Planning: what a run of a job would do, found with reads only."""

from bulkmod.plan.command import plan_job
from bulkmod.plan.simulate import Planner, PlanStopped
from bulkmod.plan.tally import PlanProblem, PlanResult

__all__ = ["PlanProblem", "PlanResult", "PlanStopped", "Planner", "plan_job"]
