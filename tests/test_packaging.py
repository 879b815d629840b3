"""pyproject.toml: its dependencies are requirements*.txt's, and its console scripts name the CLI's and the
window's main functions."""

import importlib
import re

import tomllib

from latentlab.paths import PROJECT_ROOT


def requirement_lines(name: str) -> list[str]:
    """The requirements of requirements file `name`: comments, blank lines and -r includes left out."""
    lines = (re.sub(r"\s+#.*", "", line).strip() for line in (PROJECT_ROOT / name).read_text().splitlines())
    return [line for line in lines if line and not line.startswith(("#", "-r"))]


def test_pyproject_dependencies_are_the_requirements_files():
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    assert project["dependencies"] == requirement_lines("requirements.txt")
    assert project["optional-dependencies"]["eval"] == requirement_lines("requirements-eval.txt")
    assert project["optional-dependencies"]["dev"] == requirement_lines("requirements-dev.txt")


def test_console_scripts_name_the_main_functions():
    scripts = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {"latentlab": "latentlab.cli.main:main", "latentlab-gui": "latentlab.ui.launch:main"}
    for target in scripts.values():
        module, function = target.split(":")
        assert callable(getattr(importlib.import_module(module), function))
