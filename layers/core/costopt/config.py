"""Settings, read once from the environment.

Everything that varies between AWS, the local stack and tests lives here. Import
``settings`` and read attributes; never read ``os.environ`` elsewhere.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    # Where we run
    aws_region: str = Field(default="us-east-1", validation_alias="AWS_REGION")
    stage: str = Field(default="dev", validation_alias="COSTOPT_STAGE")
    clock_at: datetime | None = Field(
        default=None, validation_alias="COSTOPT_CLOCK_AT",
        description="Start the business clock at this instant (tests, demos; naive = UTC, costopt.clock "
                    "normalises it); unset = the system clock")

    # DynamoDB tables (names come from template.yaml in AWS, from local/ when local)
    services_table: str = Field(default="costopt-services", validation_alias="SERVICES_TABLE")
    recommendations_table: str = Field(
        default="costopt-recommendations", validation_alias="RECOMMENDATIONS_TABLE"
    )
    changes_table: str = Field(default="costopt-changes", validation_alias="CHANGES_TABLE")
    observations_table: str = Field(default="costopt-observations", validation_alias="OBSERVATIONS_TABLE")
    simulations_table: str = Field(default="costopt-simulations", validation_alias="SIMULATIONS_TABLE")
    alerts_table: str = Field(default="costopt-alerts", validation_alias="ALERTS_TABLE")
    idempotency_table: str = Field(default="costopt-idempotency", validation_alias="IDEMPOTENCY_TABLE")
    pricing_cache_table: str = Field(default="costopt-pricing-cache", validation_alias="PRICING_CACHE_TABLE")
    # DynamoDB calls (every PynamoDB model and the idempotency store): bounded so an unreachable or
    # throttling table answers 503 well inside API Gateway's 30 s, not after botocore's 60 s defaults
    dynamodb_connect_timeout_s: float = Field(default=2.0, gt=0, validation_alias="COSTOPT_DYNAMODB_CONNECT_TIMEOUT_S")
    dynamodb_read_timeout_s: float = Field(default=5.0, gt=0, validation_alias="COSTOPT_DYNAMODB_READ_TIMEOUT_S")
    dynamodb_max_retries: int = Field(
        default=3, ge=0, le=10, validation_alias="COSTOPT_DYNAMODB_MAX_RETRIES",
        description="Retries after the first attempt (botocore standard mode: exponential backoff with jitter)")

    # Messaging
    recompute_queue_url: str | None = Field(default=None, validation_alias="RECOMPUTE_QUEUE_URL")
    actuation_queue_url: str | None = Field(default=None, validation_alias="ACTUATION_QUEUE_URL")
    alert_topic_arn: str | None = Field(default=None, validation_alias="ALERT_TOPIC_ARN")
    event_bus_name: str = Field(default="default", validation_alias="EVENT_BUS_NAME")

    # Accounts (costopt.accounts): member accounts are reached by assuming this role (member-role.yaml)
    member_role_name: str = Field(default="costopt-member", min_length=1, max_length=64,
                                  validation_alias="COSTOPT_MEMBER_ROLE_NAME")
    member_external_id: str | None = Field(
        default=None, validation_alias="COSTOPT_MEMBER_EXTERNAL_ID",
        description="The sts:ExternalId the member role's trust policy requires; unset or empty = none sent")

    # Connectors
    source_plugins: str = Field(
        default="", validation_alias="COSTOPT_SOURCE_PLUGINS",
        description="Modules (comma-separated) that add telemetry/billing sources when imported, e.g. "
                    "local.synthetic (the local stack and tests); unset = only the sources this package ships")
    prometheus_url: str | None = Field(default=None, validation_alias="PROMETHEUS_URL")
    billing_api_url: str | None = Field(default=None, validation_alias="BILLING_API_URL")
    billing_api_key_secret: str | None = Field(default=None, validation_alias="BILLING_API_KEY_SECRET")
    http_timeout_s: float = Field(default=10.0, validation_alias="COSTOPT_HTTP_TIMEOUT_S")
    http_max_retries: int = Field(default=3, validation_alias="COSTOPT_HTTP_MAX_RETRIES")

    # Behaviour
    default_lookback_days: int = Field(default=14, validation_alias="COSTOPT_LOOKBACK_DAYS")
    recompute_workers: int = Field(default=4, ge=1, le=64, validation_alias="COSTOPT_RECOMPUTE_WORKERS")
    simulation_ttl_days: int = Field(default=30, validation_alias="COSTOPT_SIMULATION_TTL_DAYS")
    simulation_lookback_days: int = Field(default=28, ge=1, le=93, validation_alias="COSTOPT_SIMULATION_LOOKBACK_DAYS")
    simulation_min_history_hours: int = Field(default=48, ge=24, validation_alias="COSTOPT_SIMULATION_MIN_HOURS")
    idempotency_ttl_s: int = Field(default=86_400, validation_alias="COSTOPT_IDEMPOTENCY_TTL_S")
    pagination_secret: str = Field(default="costopt-dev-pagination", validation_alias="COSTOPT_PAGINATION_SECRET")

    # Pricing assumptions (costopt.pricing.catalog): AWS publishes no fixed Fargate Spot discount ("up to 70%"
    # off, and a Spot price per region that changes), so a deployment may set the one it is billed.
    fargate_spot_discount: float | None = Field(
        default=None, ge=0, lt=1, validation_alias="COSTOPT_FARGATE_SPOT_DISCOUNT",
        description="Fraction off on-demand that Fargate Spot is priced at, in every region (0.65 = Spot costs "
                    "0.35x); unset = the bundled catalog's assumption (0.7, AWS's advertised upper bound)")
    fargate_spot_discount_source: str | None = Field(
        default=None, max_length=500, validation_alias="COSTOPT_FARGATE_SPOT_DISCOUNT_SOURCE",
        description="Where that figure comes from (URL or citation, e.g. your CUR's SpotUsage-Fargate rates)")
    fargate_spot_discount_as_of: date | None = Field(
        default=None, validation_alias="COSTOPT_FARGATE_SPOT_DISCOUNT_AS_OF",
        description="When that figure was taken (YYYY-MM-DD)")

    # Actuators (apply / rollback): outbound AWS calls that change live resources
    actuator_connect_timeout_s: float = Field(default=5.0, validation_alias="COSTOPT_ACTUATOR_CONNECT_TIMEOUT_S")
    actuator_read_timeout_s: float = Field(default=30.0, validation_alias="COSTOPT_ACTUATOR_READ_TIMEOUT_S")
    actuator_max_attempts: int = Field(default=4, validation_alias="COSTOPT_ACTUATOR_MAX_ATTEMPTS")
    actuator_wait_delay_s: float = Field(default=5.0, validation_alias="COSTOPT_ACTUATOR_WAIT_DELAY_S")
    actuator_wait_max_attempts: int = Field(default=60, validation_alias="COSTOPT_ACTUATOR_WAIT_MAX_ATTEMPTS")
    change_lock_stale_s: int = Field(
        default=900, validation_alias="COSTOPT_CHANGE_LOCK_STALE_S",
        description="A change that recorded no step for this long is reconciled by the recovery sweep")
    sync_actuation_max_s: float = Field(
        default=20.0, validation_alias="COSTOPT_SYNC_ACTUATION_MAX_S",
        description="Actuations expected to take longer run in the actuation worker (202 Accepted)")
    actuation_max_attempts: int = Field(
        default=3, validation_alias="COSTOPT_ACTUATION_MAX_ATTEMPTS",
        description="How often the worker takes a change up before the sweep settles it from the live config")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


settings = get_settings()
