terraform {
  # mock_provider in infra/tests needs OpenTofu 1.8 or later.
  required_version = ">= 1.8.0"
  required_providers {
    openstack = {
      source  = "terraform-provider-openstack/openstack"
      version = "~> 3.4"
    }
  }
}
