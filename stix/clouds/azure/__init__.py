"""Azure: VMs in a resource group, blob containers, AKS agent pools (`cloud.AzureCloud`)."""
