"""DigitalOcean as stix knows it: Droplets (CPU and GPU) in a VPC behind a Cloud Firewall."""
