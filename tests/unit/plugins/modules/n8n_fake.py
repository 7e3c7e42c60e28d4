"""Scripted n8n public API for exact-call unit tests of the n8n_* modules (through the real AnsibleModule).

n8n's connection parameters and API descriptions for the shared scripted fake (http_fake): every request is
checked against the next scripted ``(method, path, status, body)``; a test asserts exactly which calls a module makes.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

from http_fake import run_module as _run_module  # noqa: E402

URL = "http://n8n.test:5678"
API_KEY = "n8n_api_PlantedUnitKey-5b7c9d1e3f"
CONN = {"url": URL, "api_key": API_KEY, "retries": 0}
API = "/api/v1"

# paths: sections of the public API descriptions of an early 2.x (activate only) and a current 2.x
OPENAPI_ACTIVATE_ONLY = """openapi: 3.0.0
info:
  title: n8n Public API
paths:
  /workflows:
    get: {}
  /workflows/{id}:
    get: {}
  /workflows/{id}/activate:
    post: {}
  /workflows/{id}/deactivate:
    post: {}
  /credentials:
    post: {}
  /credentials/schema/{credentialTypeName}:
    get: {}
components:
  schemas: {}
"""
OPENAPI_PUBLISH = OPENAPI_ACTIVATE_ONLY.replace(
    "  /credentials:\n", "  '/workflows/{workflowId}/publish':\n    post: {}\n  /workflows/{workflowId}/unpublish:\n    post: {}\n  /credentials:\n"
)


def run_module(module, args, script, check=False, diff=False, secrets=()):
    """Run ``module.main()`` against the scripted n8n; returns (result dict, fake). Fails when a secret leaks."""
    return _run_module(module, args, script, CONN, secrets=(API_KEY,) + tuple(secrets), check=check, diff=diff)
