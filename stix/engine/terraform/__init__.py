"""The Terraform/OpenTofu back end: the resource graph as Terraform JSON."""
