"""Root causes as data: one YAML file per cause, with signatures, versions and remediation."""
