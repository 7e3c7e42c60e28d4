# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Connection options shared by every n8n_* module that uses the public API
    # (see plugins/module_utils/_n8n_client.py).
    DOCUMENTATION = r"""
options:
  url:
    description:
      - Base URL of the n8n instance, for example C(https://n8n.example.com). A trailing C(/api/v1) is accepted.
      - Falls back to the environment variable E(N8N_URL).
    type: str
    required: true
    aliases: [n8n_url]
  api_key:
    description:
      - n8n API key, sent in the C(X-N8N-API-KEY) header. Create one in n8n under Settings, n8n API, or with
        M(cx_catalyst.kpi_dashboard.n8n_bootstrap) on a brand-new instance.
      - Its scopes must cover what the module does (for example C(workflow:create), C(workflow:update),
        C(workflow:activate) for publishing).
      - Falls back to the environment variable E(N8N_API_KEY).
    type: str
    required: true
    aliases: [n8n_api_key]
  validate_certs:
    description:
      - Verify the TLS certificate of n8n. Only disable this for throwaway test instances.
    type: bool
    default: true
  ca_path:
    description:
      - PEM file with the CA certificate(s) used to verify n8n's TLS certificate.
    type: path
  timeout:
    description:
      - Seconds to wait for n8n to connect and to answer each request.
    type: int
    default: 30
  retries:
    description:
      - How many times a failed request is retried, with exponential backoff (0.5 s, 1 s, 2 s, ... capped at 8 s).
      - Reads (GET) are retried on connection errors, time-outs and HTTP 5xx.
      - PUT, PATCH and DELETE are retried only on connection errors raised before a response arrived and on
        HTTP 502/503/504. POST (create, publish) is never retried, so nothing is created twice, except on
        HTTP 429 (Too Many Requests), which refuses a request before doing anything; every method is retried on 429.
      - On HTTP 429 and 503 the wait before the next attempt is the answer's C(Retry-After) (seconds or an HTTP
        date) instead of the backoff, at most 30 s, so a server cannot hold a play for longer.
    type: int
    default: 3
notes:
  - The API key and every secret option never appear in results, diffs or error messages; error messages name the
    action, the object, the HTTP status and n8n's C(message).
"""
