"""GCP: Compute Engine VMs, GCS buckets, GKE node pools (`cloud.GcpCloud`)."""
