"""MkDocs hook: make notebook pages behave like Markdown pages, and keep TeX out of search previews.

- nbconvert marks each heading's permalink `class="anchor-link"`; Material styles (and leaves out
  of the search index) the ones marked `class="headerlink"`. Without this, every lesson heading
  ends in a visible pilcrow and search results read "Setup¶".
- A lesson links to the next one as `05_cifar10_cnn.ipynb`, which works in Jupyter; on the site
  the page of that notebook is `../05_cifar10_cnn/`.
- Search previews would show the TeX source of equations (`\\left\\lfloor \\frac{...}`): in the
  pages that typeset math, each formula is written in the index as plain text (`⌊(in − kernel)/s⌋ + 1`).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

NOTEBOOK_LINK = re.compile(r'href="(\d\d_\w+)\.ipynb(#[^"]*)?"')
MATH = re.compile(r"\$\$(.+?)\$\$|\\\[(.+?)\\\]|\\\((.+?)\\\)|(?<![\w$])\$(?=\S)([^$\n]+?)(?<=\S)\$(?![\w$])", re.S)
FRACTION = re.compile(r"\\frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}")
WRAPPED = re.compile(r"\\(?:text|mathrm|mathbf|operatorname|hat|bar|boldsymbol)\s*\{([^{}]*)\}")
SYMBOLS = {
    r"\times": "×", r"\cdot": "·", r"\approx": "≈", r"\le": "≤", r"\ge": "≥", r"\ne": "≠", r"\in": "∈",
    r"\lfloor": "⌊", r"\rfloor": "⌋", r"\lceil": "⌈", r"\rceil": "⌉", r"\sum": "Σ", r"\sqrt": "√",
    r"\mu": "μ", r"\sigma": "σ", r"\epsilon": "ε", r"\gamma": "γ", r"\beta": "β", r"\alpha": "α",
    r"\eta": "η", r"\lambda": "λ", r"\ldots": "…", r"\dots": "…", r"\infty": "∞", r"\to": "→",
    r"\log": "log", r"\ln": "ln", r"\exp": "exp", r"\max": "max", r"\min": "min", r"\,": " ", r"\;": " ",
}
SYMBOL = re.compile("|".join(re.escape(name) + (r"(?![A-Za-z])" if name[-1].isalpha() else "") for name in sorted(SYMBOLS, key=len, reverse=True)))
math_pages: set[str] = set()


def grouped(term: str) -> str:
    """Return a fraction's numerator or denominator, in parentheses when it has several terms."""
    return f"({term.strip()})" if re.search(r"\s[-+]\s", term) else term.strip()


def tex_to_text(tex: str) -> str:
    """Return a readable plain-text rendering of a TeX formula (for search previews, not for typesetting)."""
    text = tex.replace(r"\left", "").replace(r"\right", "").replace("{,}", ",")
    for _ in range(4):  # innermost first: \frac{\text{in}}{s}
        text = WRAPPED.sub(r"\1", text)
        text = FRACTION.sub(lambda m: f"{grouped(m[1])}/{grouped(m[2])}", text)
    text = SYMBOL.sub(lambda m: SYMBOLS[m[0]], text).replace("-", "−")
    text = re.sub(r"\\([A-Za-z]+)", r"\1", text).replace("{", "").replace("}", "")
    return re.sub(r"\s+", " ", text).strip()


def plain_math(text: str) -> str:
    """Return `text` with each TeX formula in it ($...$, $$...$$, \\(...\\), \\[...\\]) as plain text."""
    return MATH.sub(lambda m: tex_to_text(next(group for group in m.groups() if group is not None)), text)


def on_page_content(html, page, config, files):
    if page.file.src_uri.endswith(".ipynb") or page.meta.get("math"):
        math_pages.add(page.url)
    if page.file.src_uri.endswith(".ipynb"):
        html = html.replace('class="anchor-link"', 'class="headerlink" title="Permanent link"')
        html = NOTEBOOK_LINK.sub(lambda m: f'href="../{m[1]}/{m[2] or ""}"', html)
    return html


def on_post_build(config) -> None:
    """Rewrite the search index (written by the search plugin just before) with plain-text formulas."""
    path = Path(config["site_dir"]) / "search" / "search_index.json"
    if not path.is_file():
        return
    index = json.loads(path.read_text(encoding="utf-8"))
    for doc in index["docs"]:
        if doc["location"].split("#")[0] in math_pages:
            doc["title"], doc["text"] = plain_math(doc["title"]), plain_math(doc["text"])
    path.write_text(json.dumps(index, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
