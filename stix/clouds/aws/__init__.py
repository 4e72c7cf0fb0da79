"""AWS: EC2 instances in a VPC, S3 buckets, EKS node pools (`cloud.AwsCloud`)."""
