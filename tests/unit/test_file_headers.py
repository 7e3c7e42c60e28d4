# -*- coding: utf-8 -*-
# Copyright: (c) 2026, CX-Catalyst platform engineering
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every plugin file carries the one file header of the collection (modules and module_utils alike)."""

import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
HEADER = [
    "# -*- coding: utf-8 -*-",
    "# Copyright: (c) 2026, CX-Catalyst platform engineering",
    "# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)",
    "# SPDX-License-Identifier: GPL-3.0-or-later",
]
FILES = sorted(p for d in ("plugins/modules", "plugins/module_utils") for p in (ROOT / d).glob("*.py") if p.name != "__init__.py")


def test_there_are_plugin_files():
    assert len(FILES) >= 20


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_plugin_file_header(path):
    lines = path.read_text(encoding="utf-8").splitlines()
    if path.parent.name == "modules":
        assert lines[0] == "#!/usr/bin/python", f"{path.name}: a module starts with the interpreter line"
        lines = lines[1:]
    assert lines[: len(HEADER)] == HEADER, f"{path.name}: the file header differs from the collection's one header"
