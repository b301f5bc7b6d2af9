"""Integrations with other systems: webhooks out (and later xAPI, SCORM, SCIM, HR sync)."""
