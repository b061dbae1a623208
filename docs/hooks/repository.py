"""MkDocs hook: the site's `repo_url` from the project's metadata, so mkdocs.yml does not repeat it.

pyproject.toml's `[project.urls] Repository` names the course's repository. With it, Material links the
repository in the header and lesson pages link their notebook in Binder and Colab (overrides/main.html).
Material's repository widget would fetch the repository's stars and forks from GitHub's API:
overrides/partials/source.html shows the link without it, so the site still asks nothing of the network.
A repo_url written in mkdocs.yml wins.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from urllib.parse import urlsplit


def repository_url(pyproject: Path) -> str | None:
    """Return `[project.urls] Repository` of `pyproject` (None when the file or the entry is missing).

    Raises SystemExit naming the file when it is not valid TOML.
    """
    if not pyproject.is_file():
        return None
    try:
        metadata = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise SystemExit(f"{pyproject} is not valid TOML ({error}): fix it, then build the site again.") from error
    return metadata.get("project", {}).get("urls", {}).get("Repository")


def on_config(config):
    url = repository_url(Path(config.config_file_path).parent / "pyproject.toml")
    if url and not config.repo_url:
        config.repo_url = url.rstrip("/")
        config.repo_name = config.repo_name or urlsplit(config.repo_url).path.strip("/")
    return config
