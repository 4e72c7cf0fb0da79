"""Engine failures classified from each cloud's own error codes (and shared wordings)."""

from __future__ import annotations

import pytest

from stix.engine.errors import classify

CASES = [
    ("aws", "InsufficientInstanceCapacity: We currently do not have sufficient p4d capacity",
     "capacity"),
    ("gcp", "googleapi: Error 503: The zone 'projects/p/zones/us-central1-a' does not have "
     "enough resources available to fulfill the request.  '(resource type:compute)'., "
     "ZONE_RESOURCE_POOL_EXHAUSTED", "capacity"),
    ("azure", "Code=\"SkuNotAvailable\" Message=\"The requested size for resource is currently "
     "not available in location 'eastus'\"", "capacity"),
    ("azure", "Code=\"AllocationFailed\"", "capacity"),
    ("aws", "InsufficientSpotCapacity: no spot capacity", "spot"),
    ("aws", "SpotMaxPriceTooLow", "spot"),
    ("aws", "VcpuLimitExceeded: You have requested more vCPU capacity than your current vCPU "
     "limit", "quota"),
    ("gcp", "googleapi: Error 403: Quota 'NVIDIA_A100_GPUS' exceeded.  Limit: 0.0 in region "
     "us-central1., quotaExceeded", "quota"),
    ("azure", "Code=\"OperationNotAllowed\" Message=\"Operation could not be completed as it "
     "results in exceeding approved standardNCADSA100v4Family Cores quota\"", "quota"),
    ("aws", "NoCredentialProviders: no valid providers in chain", "credentials"),
    ("gcp", "error: bad template: syntax error", "other"),
]


@pytest.mark.parametrize(("cloud", "text", "kind"), CASES)
def test_classify_by_the_clouds_own_codes(cloud: str, text: str, kind: str) -> None:
    assert classify(text, cloud) == kind
    assert classify(text) == kind  # without a cloud: every cloud's codes


def test_codes_of_one_cloud_do_not_classify_anothers_errors() -> None:
    assert classify("Code=\"SkuNotAvailable\"", "aws") == "other"
    assert classify("InsufficientInstanceCapacity", "azure") == "other"
    assert classify("capacity not available in this zone", "azure") == "capacity"  # shared
