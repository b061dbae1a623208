"""MkDocs hook: serve MathJax from the site itself, so equations typeset without any network.

MathJax 2.7 ships on PyPI inside `jupyter-server-mathjax` (its `static/` folder: the TeX input,
the HTML-CSS output and its STIX-Web fonts). After each build the files a page needs are copied
to `site/javascripts/mathjax/`; `overrides/main.html` loads `MathJax.js` from there. The
accessibility maps, the SVG output and the translations are left out (7 of the 9.6 MB).
"""

from __future__ import annotations

import shutil
from pathlib import Path

TARGET = Path("javascripts") / "mathjax"
LEFT_OUT = ("extensions/a11y", "jax/output/SVG", "localization", "fonts/HTML-CSS/STIX-Web/otf")


def mathjax_source() -> Path:
    """Return the folder of MathJax's files installed by `jupyter-server-mathjax`."""
    try:
        import jupyter_server_mathjax
    except ImportError as error:
        raise SystemExit(
            "The site needs MathJax from PyPI to typeset equations offline: pip install -e '.[docs]' "
            "(or pip install jupyter-server-mathjax)."
        ) from error
    return Path(jupyter_server_mathjax.__file__).parent / "static"


def ignored(folder: str, names: list[str]) -> set[str]:
    """shutil.copytree's filter: the parts of MathJax no page of the site uses."""
    relative = Path(folder).relative_to(mathjax_source()).as_posix()
    return {name for name in names if f"{relative}/{name}".removeprefix("./") in LEFT_OUT}


def on_post_build(config) -> None:
    shutil.copytree(mathjax_source(), Path(config["site_dir"]) / TARGET, ignore=ignored, dirs_exist_ok=True)
