"""Oracle Cloud Infrastructure (OCI): compute instances in a stack-owned VCN (pulumi-oci)."""
