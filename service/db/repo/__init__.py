"""Data functions: each takes the caller's session (and never opens, commits or closes one).

Tenant-scoped reads take `tenant_id` and never return another tenant's rows.
"""

from service.db.repo.feedback import add_feedback
from service.db.repo.jobs import (
    JobFilter,
    Submission,
    create_job,
    create_upload,
    delete_job,
    find_job_for_idempotency,
    find_job_for_sha256,
    get_job,
    get_job_any_tenant,
    list_jobs,
    submit_upload,
)
from service.db.repo.lifecycle import (
    advance_job,
    claim_job,
    claim_next_job,
    complete_job,
    count_jobs_by_state,
    fail_job,
    redispatch_stale_queued,
    renew_lease,
    requeue_expired,
    requeue_expired_ids,
    retry_job,
)
from service.db.repo.retention import purge_expired_raw
from service.db.repo.stats import fleet_stats
from service.db.repo.tenants import (
    authenticate_key,
    count_tenants,
    create_api_key,
    create_tenant,
    get_api_key,
    get_or_create_tenant,
    get_tenant_by_name,
    hash_key,
    key_prefix,
    list_api_keys,
    revoke_api_key,
)

__all__ = [
    "JobFilter",
    "Submission",
    "add_feedback",
    "advance_job",
    "authenticate_key",
    "claim_job",
    "claim_next_job",
    "complete_job",
    "count_jobs_by_state",
    "count_tenants",
    "create_api_key",
    "create_job",
    "create_tenant",
    "create_upload",
    "delete_job",
    "fail_job",
    "find_job_for_idempotency",
    "find_job_for_sha256",
    "fleet_stats",
    "get_api_key",
    "get_job",
    "get_job_any_tenant",
    "get_or_create_tenant",
    "get_tenant_by_name",
    "hash_key",
    "key_prefix",
    "list_api_keys",
    "list_jobs",
    "purge_expired_raw",
    "redispatch_stale_queued",
    "renew_lease",
    "requeue_expired",
    "requeue_expired_ids",
    "retry_job",
    "revoke_api_key",
    "submit_upload",
]
