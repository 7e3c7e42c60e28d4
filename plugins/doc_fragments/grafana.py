# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Connection options shared by every grafana_* module (see plugins/module_utils/_grafana_client.py).
    DOCUMENTATION = r"""
options:
  url:
    description:
      - Base URL of the Grafana instance, for example C(https://grafana.example.com) or a Grafana Cloud stack URL.
      - A sub-path (C(https://example.com/grafana)) is kept.
      - Falls back to the environment variable E(GRAFANA_URL).
    type: str
    required: true
    aliases: [grafana_url]
  url_username:
    description:
      - User name for HTTP Basic authentication (for example C(admin)).
      - Mutually exclusive with O(token). Requires O(url_password).
      - Falls back to the environment variable E(GRAFANA_USER).
    type: str
    aliases: [grafana_user]
  url_password:
    description:
      - Password for HTTP Basic authentication.
      - Falls back to the environment variable E(GRAFANA_PASSWORD).
    type: str
    aliases: [grafana_password]
  token:
    description:
      - Service-account token (C(glsa_...)) or legacy API key, sent in the C(Authorization) header as C(Bearer <token>).
      - Grafana Cloud requires a token. Mutually exclusive with O(url_username).
      - Falls back to the environment variable E(GRAFANA_TOKEN).
    type: str
    aliases: [grafana_api_key]
  org_id:
    description:
      - Organisation the request acts on, sent as header C(X-Grafana-Org-Id) on every request.
      - The user's current organisation is never switched. Tokens are bound to the organisation they were created in.
    type: int
    default: 1
  validate_certs:
    description:
      - Verify the TLS certificate of Grafana. Only disable this for throwaway test instances.
    type: bool
    default: true
  ca_path:
    description:
      - PEM file with the CA certificate(s) used to verify Grafana's TLS certificate.
    type: path
  client_cert:
    description:
      - PEM client certificate for mutual TLS. Use with O(client_key) unless the file also holds the key.
    type: path
  client_key:
    description:
      - PEM private key that belongs to O(client_cert).
    type: path
  timeout:
    description:
      - Seconds to wait for Grafana to connect and to answer each request.
    type: int
    default: 30
  retries:
    description:
      - How many times a failed request is retried, with exponential backoff (0.5 s, 1 s, 2 s, ... capped at 8 s).
      - Read requests (GET, HEAD) and read-only queries are retried on connection errors, time-outs and HTTP 5xx.
      - Idempotent writes (PUT, DELETE) are retried only on connection errors raised before a response
        arrived and on HTTP 502/503/504, where the request has not been applied or applying it twice gives the same result.
      - POST (create) requests are never retried, so nothing is created twice, except on HTTP 429 (Too Many
        Requests), which Grafana answers before doing anything; every method is retried on 429.
      - On HTTP 429 and 503 the wait before the next attempt is the answer's C(Retry-After) (seconds or an HTTP
        date) instead of the backoff, at most 30 s, so a server cannot hold a play for longer.
    type: int
    default: 3
notes:
  - Secrets (O(url_password), O(token) and every secret option of a module) never appear in results,
    diffs or error messages; error messages name the action, the object, the HTTP status and Grafana's C(message).
"""
