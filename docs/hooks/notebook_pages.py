"""MkDocs hook: make notebook pages behave like Markdown pages: light, accessible, well indexed.

- nbconvert marks each heading's permalink `class="anchor-link"`; Material styles (and leaves out
  of the search index) the ones marked `class="headerlink"`. Without this, every lesson heading
  ends in a visible pilcrow and search results read "Setup¶".
- A lesson links to the next one as `05_cifar10_cnn.ipynb`, which works in Jupyter; on the site
  the page of that notebook is `../05_cifar10_cnn/`.
- Search previews would show the TeX source of equations (`\\left\\lfloor \\frac{...}`): in the
  pages that typeset math, each formula is written in the index as plain text (`⌊(in − kernel)/s⌋ + 1`).
- mkdocs-jupyter repeats ~600 KB of notebook CSS inline on every lesson page: it is written once,
  to `assets/stylesheets/notebook.HASH.css`, keeping only the rules whose classes the pages use;
  its syntax-highlighting rules are dropped (`extra.css` maps the tokens onto Material's colours).
- Figures are written as PNG files next to their page and load lazily (`width`/`height` kept), with
  the alt text the master's cell gives in its metadata (`alt`: one string per figure the cell draws).
- A worked solution's code gets a `<code>` element, so Material gives it a copy button.
- Cell-tag badges, the copy buttons' text, the hidden copy of each cell's code and the cells'
  outputs are left out of the search index; MathJax is loaded only on a page with a formula.
"""

from __future__ import annotations

import base64
import hashlib
import html as html_text
import json
import re
import struct
from pathlib import Path

import nbformat
import tinycss2

NOTEBOOK_LINK = re.compile(r'href="(\d\d_\w+)\.ipynb(#[^"]*)?"')
MATH = re.compile(r"\$\$(.+?)\$\$|\\\[(.+?)\\\]|\\\((.+?)\\\)|(?<![\w$])\$(?=\S)([^$\n]+?)(?<=\S)\$(?![\w$])", re.S)
FRACTION = re.compile(r"\\frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}")
WRAPPED = re.compile(r"\\(?:text|mathrm|mathbf|operatorname|hat|bar|boldsymbol)\s*\{([^{}]*)\}")
SYMBOLS = {
    r"\times": "×",
    r"\cdot": "·",
    r"\approx": "≈",
    r"\le": "≤",
    r"\ge": "≥",
    r"\ne": "≠",
    r"\in": "∈",
    r"\lfloor": "⌊",
    r"\rfloor": "⌋",
    r"\lceil": "⌈",
    r"\rceil": "⌉",
    r"\sum": "Σ",
    r"\sqrt": "√",
    r"\mu": "μ",
    r"\sigma": "σ",
    r"\epsilon": "ε",
    r"\gamma": "γ",
    r"\beta": "β",
    r"\alpha": "α",
    r"\eta": "η",
    r"\lambda": "λ",
    r"\ldots": "…",
    r"\dots": "…",
    r"\infty": "∞",
    r"\to": "→",
    r"\log": "log",
    r"\ln": "ln",
    r"\exp": "exp",
    r"\max": "max",
    r"\min": "min",
    r"\,": " ",
    r"\;": " ",
}
SYMBOL = re.compile(
    "|".join(
        re.escape(name) + (r"(?![A-Za-z])" if name[-1].isalpha() else "")
        for name in sorted(SYMBOLS, key=len, reverse=True)
    )
)
NOTEBOOK_CSS_LINK = "__notebook_css__"  # written into lesson pages, replaced by the CSS file's hashed name
STYLE = re.compile(r"<style[^>]*>(.*?)</style>", re.S)
HIGHLIGHTING = re.compile(
    r"(?:^|\s)(?:pre \{ line-height|\['pre \{)"
)  # nbconvert's Pygments CSS, one copy as a Python list
FIGURE = re.compile(
    r'<img alt="No description has been provided for this image" class="([^"]*)" src="data:image/png;base64,([^"]+)"'
)
SEARCH_EXCLUDED = re.compile(
    r'<div (class="(?:celltoolbar|zeroclipboard-container|clipboard-copy-txt|jp-OutputArea jp-Cell-outputArea)")'
)
SOLUTION_CODE = re.compile(r'<div class="highlight"><pre><span></span>(.*?)</pre></div>', re.S)
PROPERTY = re.compile(r"""(?<=[{;])\s*(--[\w-]+)\s*:(?:"[^"]*"|'[^']*'|url\([^)]*\)|[^;{}"'])*(?:;|(?=}))""")
EMPTY_RULE = re.compile(r"(?<=[{}])[^{}]*\{\s*\}|^[^{}]*\{\s*\}")
PRE = re.compile(r"<pre>(<span></span>|<code>)?(.*?)(</code>)?</pre>", re.S)  # code, worked solutions, printed outputs
TAG = re.compile(r"<(/?)(\w+)[^>]*>")
SCROLLING_PRE = re.compile(r'<pre style="white-space:pre;overflow-x:auto')  # Rich's model.summary() tables
math_pages: set[str] = set()
notebook_css: dict[str, None] = {}  # each distinct block of mkdocs-jupyter's CSS, in order
figures: dict[str, bytes] = {}  # site path of each lesson figure -> its PNG


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


def figure_alt_texts(notebook: nbformat.NotebookNode) -> list[str]:
    """Return the alt text of each figure (PNG output) of `notebook`, in order, from its cells' `alt` metadata.

    Raises ValueError naming the cell when a cell draws more figures than its metadata describes.
    """
    texts = []
    for number, cell in enumerate(notebook.cells, start=1):
        drawn = sum("image/png" in output.get("data", {}) for output in cell.get("outputs", []))
        alt = cell.metadata.get("alt", [])
        alt = [alt] if isinstance(alt, str) else list(alt)
        if drawn > len(alt):
            first = cell.source.strip().splitlines()[0] if cell.source.strip() else ""
            raise ValueError(
                f"cell {number} ({first!r}) draws {drawn} figure(s) but its metadata gives {len(alt)} alt text(s): "
                'give the master\'s cell metadata "alt" (a string, or a list with one string per figure) '
                "saying what each shows"
            )
        texts += alt[:drawn]
    return texts


def hanging_lines(text: str) -> str:
    """Return the HTML inside a <pre> with each line in a `<span class="hang">` giving its indent (`--indent`, in
    characters), so that a long line wraps under its own indentation (extra.css), not at column 0.

    Tags open across a line end (Pygments' docstrings, ANSI colours) are closed at its end and reopened on the next.
    """
    lines = text.split("\n")
    end = [lines.pop()] if not lines[-1] else []  # the newline that ends the text
    wrapped, opened = [], []  # opened: (opening tag, name) of each tag open at the line's end
    for line in lines:
        reopened = "".join(tag for tag, _ in opened)
        for tag in TAG.finditer(line):
            if tag[1]:
                opened.pop()
            else:
                opened.append((tag[0], tag[2]))
        closed = "".join(f"</{name}>" for _, name in reversed(opened))
        shown = html_text.unescape(re.sub(r"<[^>]+>", "", line))
        indent = len(shown) - len(shown.lstrip(" "))
        style = f' style="--indent:{indent}"' if indent else ""
        wrapped.append(f'<span class="hang"{style}>{reopened}{line}{closed}</span>')
    return "\n".join(wrapped + end)


def png_size(png: bytes) -> tuple[int, int]:
    """Return the (width, height) in pixels of a PNG, read from its header."""
    return struct.unpack(">II", png[16:24])


def has_formula(notebook: nbformat.NotebookNode) -> bool:
    """Return True when a markdown cell of `notebook` holds a TeX formula MathJax must typeset."""
    return any(MATH.search(cell.source) for cell in notebook.cells if cell.cell_type == "markdown")


def with_figure_files(html: str, page, notebook: nbformat.NotebookNode) -> str:
    """Return `html` with each inline PNG figure written as a file of the page, lazily loaded, with its alt text."""
    alts = figure_alt_texts(notebook)
    found = FIGURE.findall(html)
    if len(found) != len(alts):
        raise ValueError(f"{page.file.src_uri}: {len(found)} figures on the page but {len(alts)} in the notebook")
    replies = iter(alts)

    def replace(match: re.Match) -> str:
        png = base64.b64decode(match[2])
        name = f"figure-{hashlib.sha256(png).hexdigest()[:12]}.png"
        figures[page.url + name] = png
        width, height = png_size(png)
        alt = next(replies).replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
        return f'<img alt="{alt}" class="{match[1]}" loading="lazy" width="{width}" height="{height}" src="{name}"'

    return FIGURE.sub(replace, html)


def on_pre_build(config) -> None:
    for collected in (math_pages, notebook_css, figures):
        collected.clear()


def on_page_content(html, page, config, files):
    if page.file.src_uri.endswith(".ipynb"):
        notebook = nbformat.read(page.file.abs_src_path, as_version=4)
        page.meta["math"] = has_formula(notebook)
        page.meta["notebook_css"] = NOTEBOOK_CSS_LINK
        for css in STYLE.findall(html):
            if not HIGHLIGHTING.match(css):
                notebook_css.setdefault(css.strip())
        html = STYLE.sub("", html)
        html = html.replace('class="anchor-link"', 'class="headerlink" title="Permanent link"')
        html = NOTEBOOK_LINK.sub(lambda m: f'href="../{m[1]}/{m[2] or ""}"', html)
        html = SEARCH_EXCLUDED.sub(r"<div \1 data-search-exclude", html)
        html = SOLUTION_CODE.sub(r'<div class="highlight"><pre><code>\1</code></pre></div>', html)
        html = PRE.sub(lambda m: f"<pre>{m[1] or ''}{hanging_lines(m[2])}{m[3] or ''}</pre>", html)
        html = SCROLLING_PRE.sub('<pre tabindex="0" style="white-space:pre;overflow-x:auto', html)
        html = with_figure_files(html, page, notebook)
    if page.meta.get("math"):
        math_pages.add(page.url)
    return html


def split_selectors(prelude: str) -> list[str]:
    """Return the selectors of a rule's comma-separated selector list (commas inside parentheses kept)."""
    selectors, depth, start = [], 0, 0
    for i, char in enumerate(prelude):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            selectors.append(prelude[start:i])
            start = i + 1
    return [*selectors, prelude[start:]]


def selector_applies(selector: str, classes: set[str]) -> bool:
    """Return False when `selector` needs a class no page uses (classes inside :not(...) and the like do not count)."""
    outside = re.sub(r"\([^()]*\)", "", selector)
    return all(name in classes for name in re.findall(r"\.(-?[_a-zA-Z][\w-]*)", outside))


def used_rules(rules: list, classes: set[str]) -> list[str]:
    """Return, serialised, the rules of a parsed stylesheet that can match an element of the pages."""
    kept = []
    for rule in rules:
        if rule.type == "qualified-rule":
            selectors = [s for s in split_selectors(tinycss2.serialize(rule.prelude)) if selector_applies(s, classes)]
            if selectors:
                kept.append(f"{','.join(s.strip() for s in selectors)}{{{tinycss2.serialize(rule.content).strip()}}}")
        elif rule.type == "at-rule" and rule.lower_at_keyword in ("media", "supports") and rule.content is not None:
            inner = used_rules(
                tinycss2.parse_rule_list(rule.content, skip_comments=True, skip_whitespace=True), classes
            )
            if inner:
                kept.append(f"@{rule.at_keyword}{tinycss2.serialize(rule.prelude)}{{{''.join(inner)}}}")
        elif rule.type == "at-rule" and rule.lower_at_keyword != "charset":
            kept.append(tinycss2.serialize([rule]))
    return kept


def without_unused_properties(css: str, also_read: str) -> str:
    """Return `css` without the declarations of custom properties (`--x: ...`) nothing reads with var(--x).

    A value may hold a `;` inside quotes or url(...) (JupyterLab's icons: `url("data:image/svg+xml;base64,...")`).
    Rules left empty go too.
    """
    for _ in range(3):  # a property read only by an unused one becomes unused in its turn
        read = set(re.findall(r"var\(\s*(--[\w-]+)", css + also_read))
        css = PROPERTY.sub(lambda m, read=read: m[0] if m[1] in read else "", css)
    while EMPTY_RULE.search(css):  # an @media block whose rules all went is empty in its turn
        css = EMPTY_RULE.sub("", css)
    return css


def write_notebook_css(site: Path, extra_css: str) -> str | None:
    """Write the notebook CSS the lesson pages use to site/assets/stylesheets/; return its path in the site."""
    if not notebook_css:
        return None
    pages = [path.read_text(encoding="utf-8") for path in site.glob("lessons/*/index.html")]
    classes = {name for html in pages for value in re.findall(r'class="([^"]*)"', html) for name in value.split()}
    rules = tinycss2.parse_stylesheet("\n".join(notebook_css), skip_comments=True, skip_whitespace=True)
    css = without_unused_properties("\n".join(used_rules(rules, classes)), extra_css)
    name = f"assets/stylesheets/notebook.{hashlib.sha256(css.encode()).hexdigest()[:8]}.css"
    (site / name).parent.mkdir(parents=True, exist_ok=True)
    (site / name).write_text(css, encoding="utf-8")
    return name


def on_post_build(config) -> None:
    """Write the lesson pages' figures and CSS; rewrite the search index with plain-text formulas."""
    site = Path(config["site_dir"])
    for name, png in figures.items():
        (site / name).write_bytes(png)
    extra_css = "".join(
        (site / css).read_text(encoding="utf-8") for css in config["extra_css"] if (site / css).is_file()
    )
    stylesheet = write_notebook_css(site, extra_css)
    for page in site.glob("lessons/*/index.html"):
        html = page.read_text(encoding="utf-8")
        if NOTEBOOK_CSS_LINK in html:
            page.write_text(html.replace(NOTEBOOK_CSS_LINK, stylesheet), encoding="utf-8")
    path = site / "search" / "search_index.json"
    if not path.is_file():
        return
    index = json.loads(path.read_text(encoding="utf-8"))
    for doc in index["docs"]:
        if doc["location"].split("#")[0] in math_pages:
            doc["title"], doc["text"] = plain_math(doc["title"]), plain_math(doc["text"])
    path.write_text(json.dumps(index, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
