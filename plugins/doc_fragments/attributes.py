# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Every module of this collection supports check mode and diff mode fully and runs on the controller
    # (or any POSIX host that reaches PostgreSQL / Grafana). Use together with
    # ansible.builtin.action_common_attributes, which describes these attributes; a module may still
    # override one of them (for example to add details).
    DOCUMENTATION = r"""
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: posix
"""
