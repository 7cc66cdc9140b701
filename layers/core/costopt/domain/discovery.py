"""Discovery: what a client asks costopt to find, what it found, and what it did about it.

A ``Selector`` says which live resources to look at (by tag, by CloudFormation stack, or by ECS
cluster); ``group_by`` is the tag key whose value names the service each resource belongs to.
Discovery reads each resource's live config from AWS, builds one ``ServicePlan`` per group
(create, update, unchanged), marks the registered resources it no longer finds as vanished, and
records config drift. An account or region that fails is reported in ``accounts`` and changes nothing
of what that account holds: its resources are neither added nor marked vanished.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field

from costopt.domain.common import AccountId, AwsRegion, Model, ServiceId, TagKey, TagValue
from costopt.domain.pull import PullProgress

DEFAULT_GROUP_BY = "costopt:service"
MAX_DRIFT_RECORDS = 50


class TagSelector(Model):
    """Every supported resource carrying ``tag_key`` (with one of ``tag_values``, when given)."""

    type: Literal["tag"] = "tag"
    tag_key: TagKey
    tag_values: list[TagValue] | None = Field(default=None, min_length=1, max_length=20,
                                              description="Omit to take every value of tag_key")


class StackSelector(Model):
    """The supported resources a CloudFormation stack created (ListStackResources)."""

    type: Literal["cloudformation_stack"] = "cloudformation_stack"
    stack_name: str = Field(min_length=1, max_length=2048, pattern=r"^[A-Za-z][A-Za-z0-9-]*$|^arn:",
                            description="Stack name or stack ARN")


class EcsClusterSelector(Model):
    """Every service of an ECS cluster (ListServices)."""

    type: Literal["ecs_cluster"] = "ecs_cluster"
    cluster: str = Field(min_length=1, max_length=2048, description="Cluster name or ARN")


Selector = Annotated[TagSelector | StackSelector | EcsClusterSelector, Field(discriminator="type")]


class DiscoverRequest(Model):
    accounts: list[AccountId] | None = Field(
        default=None, min_length=1, max_length=100,
        description="Member accounts to look in. Omit: every ACTIVE account AWS Organizations lists (or, outside "
                    "an organization, the account costopt runs in)")
    regions: list[AwsRegion] | None = Field(default=None, min_length=1, max_length=30,
                                            description="Omit: the region costopt runs in")
    selector: Selector
    group_by: TagKey = Field(default=DEFAULT_GROUP_BY,
                             description="Tag key whose value becomes the service id (lower-cased, other "
                                         "characters replaced by '-'); resources without it are skipped")
    dry_run: bool = Field(default=False, description="Answer with the plan; create and change nothing")
    team: str = Field(default="unassigned", min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
                      description="Team of the services discovery creates (an existing service keeps its own)")
    lookback_days: int = Field(default=14, ge=1, le=93,
                               description="History to backfill from CloudWatch and billing for each new service")


class DiscoveryOrigin(Model):
    """How a discovered service was found: discovery keeps it in sync by the same selector."""

    selector: Selector
    group_by: TagKey
    group_value: TagValue
    last_run_at: datetime = Field(description="When discovery last looked at this service's resources")


class ConfigDrift(Model):
    """A live config that no longer matched the recorded one (the service was updated to the live one)."""

    resource_id: str
    at: datetime
    recorded: dict[str, Any]
    live: dict[str, Any]


class AccountOutcome(Model):
    account_id: AccountId
    region: AwsRegion
    status: Literal["ok", "failed"]
    resources: int = Field(default=0, ge=0, description="Resources found there")
    error: str | None = None


class ServicePlan(Model):
    service_id: ServiceId
    action: Literal["create", "update", "unchanged"]
    group_value: TagValue
    resources: list[dict[str, Any]] = Field(description="The resources as they will be registered (live config)")
    added: list[str] = Field(default_factory=list, description="resource ids new to the service")
    vanished: list[str] = Field(default_factory=list, description="resource ids no longer found")
    drift: list[ConfigDrift] = Field(default_factory=list)
    version: int | None = Field(default=None, description="The service's version after the change (not dry_run)")


class DiscoverReport(Model):
    dry_run: bool
    at: datetime
    services: list[ServicePlan]
    accounts: list[AccountOutcome]
    skipped: list[str] = Field(default_factory=list,
                               description="Resources found but not registered, each with the reason")
    backfill: list[PullProgress] = Field(default_factory=list,
                                         description="History pulled for the services created or changed")
