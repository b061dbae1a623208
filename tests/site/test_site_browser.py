"""The built website in a real browser: home page, every lesson page, search, the API reference.

Headless Chromium (Debian's `chromium` package) driven by Playwright, against the built site
(`site/`) served on 127.0.0.1, with the network blocked: every request outside localhost is
refused, so equations, figures, fonts and search must all come from the site itself.
Screenshots go to `site-screenshots/`: `pytest tests/site -k screenshots` takes every lesson page,
whole, at 1280 px and at 390 px (a phone). Every page is checked with axe-core (from npm, installed
by `npm ci --prefix tools/axe`, injected from that file) for the WCAG 2.0/2.1/2.2 A and AA rules,
in both colour schemes and at both widths; each page's result is written to `site-screenshots/axe/`.

Build the site first:  python -m tools.site.build lessons && mkdocs build --strict
Run:                   pytest tests/site
"""

from __future__ import annotations

import collections
import functools
import http.server
import json
import os
import re
import shutil
import threading
import tomllib
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from cnn_course.authoring.notebooks import lesson_stems

REPO = Path(__file__).resolve().parents[2]
SITE = REPO / "site"
SCREENSHOTS = REPO / "site-screenshots"
STEMS = lesson_stems(REPO / "solutions")
WIDTHS = {"desktop": 1280, "phone": 390}
AXE = REPO / "tools" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
PAGES = sorted(
    "" if path.parent == SITE else f"{path.parent.relative_to(SITE).as_posix()}/" for path in SITE.glob("**/index.html")
)
PAGE_BUDGET = (
    1_000_000  # bytes a lesson page may download on its first load (HTML, CSS, scripts, figures, search index)
)
# Concept words and the section that teaches them, which search must rank first.
CONCEPT_SEARCHES = {
    "receptive field": "concepts/#convolution",
    "softmax": "concepts/#softmax-and-cross-entropy",
    "data augmentation": "concepts/#data-augmentation",
    "transfer learning": "concepts/#transfer-learning-and-fine-tuning",
    "confusion matrix": "concepts/#confusion-matrix-precision-recall-f1",
}
OVERFLOW_ALLOWANCE = 0.10  # at most this share of a lesson's code cells may need horizontal scrolling at 1280 px
QUICK_BANNER = ".quick-mode-banner"  # tools.site.build.QUICK_BANNER_CLASS
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# A word of each lesson's prose that search must find (and the page it must lead to).
SEARCH_WORDS = {"01_mnist_data": "stratify", "02_mnist_cnn": "funnel", "03_mnist_training": "overfitting"}
REQUIRED = os.environ.get("CNN_COURSE_REQUIRE_SITE_TEST") == "1"  # set by .ci/run: skip becomes failure
# The site's repo_url (docs/hooks/repository.py): the header's repository link, the lessons' Binder and Colab links.
REPOSITORY = (
    tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    .get("urls", {})
    .get("Repository", "")
)
NO_SITE = f"no built site in {SITE}: run `python -m tools.site.build lessons && mkdocs build --strict`"

pytestmark = pytest.mark.site


def unavailable(reason: str) -> None:
    """Skip (locally) or fail (in CI, where everything the test needs is installed)."""
    if REQUIRED:
        pytest.fail(reason)
    pytest.skip(reason)


def chromium_path() -> str:
    path = os.environ.get("CHROMIUM") or shutil.which("chromium")
    if not path:
        unavailable("no chromium: install Debian's package (apt-get install chromium) or set CHROMIUM to its path")
    return path


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class's signature
        pass


@pytest.fixture(scope="module")
def built_site() -> Path:
    """The folder `mkdocs build` wrote."""
    if not (SITE / "index.html").is_file():
        unavailable(NO_SITE)
    return SITE


@pytest.fixture(scope="module")
def site_url(built_site: Path) -> Iterator[str]:
    """The built site, served by http.server on a free port of 127.0.0.1."""
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(built_site))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("no playwright: pip install -e '.[docs]' installs it")
    executable = chromium_path()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Offline:
    """A route handler that serves localhost and refuses (and remembers) every other request."""

    def __init__(self) -> None:
        self.refused: list[str] = []

    def __call__(self, route) -> None:
        url = route.request.url
        if urlsplit(url).hostname in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            self.refused.append(url)
            route.abort()


def new_page(browser, width: int):
    """Return a page of a fresh browser context `width` px wide, offline, that records JavaScript errors."""
    context = browser.new_context(viewport={"width": width, "height": 900})
    offline = Offline()
    context.route("**/*", offline)
    page = context.new_page()
    page.errors, page.refused = [], offline.refused
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    return page


@pytest.fixture
def page(browser):
    page = new_page(browser, WIDTHS["desktop"])
    yield page
    page.context.close()
    assert not page.errors, f"JavaScript errors on the page: {page.errors}"
    assert not page.refused, f"the site asked the network for: {sorted(set(page.refused))}"


def screenshot(page, name: str, full_page: bool = False) -> Path:
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def settle(page, milliseconds: int = 200) -> None:
    """Let a scroll, an unfolding or a fade-in finish painting before a screenshot."""
    page.evaluate("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")
    page.wait_for_timeout(milliseconds)


def loaded_images(page, selector: str) -> list[int]:
    """Return the natural widths of the images matching `selector` (0 for one that failed to load), lazy ones too."""
    return page.eval_on_selector_all(
        selector,
        "images => Promise.all(images.map(image => { image.loading = 'eager'; "
        "return image.decode().then(() => image.naturalWidth, () => 0); }))",
    )


def site_notebook(stem: str) -> dict:
    """Return the site notebook of lesson `stem` (docs/lessons/), as JSON."""
    path = REPO / "docs" / "lessons" / f"{stem}.ipynb"
    assert path.is_file(), f"no site notebook {path}: run `python -m tools.site.build lessons`, then build the site"
    return json.loads(path.read_text(encoding="utf-8"))


def figure_count(stem: str) -> int:
    """Return how many figures (PNG outputs) the site notebook of lesson `stem` holds."""
    outputs = [output for cell in site_notebook(stem)["cells"] for output in cell.get("outputs", [])]
    return sum("image/png" in output.get("data", {}) for output in outputs)


def built_from_full_run(stem: str) -> bool:
    """Return True when the page of lesson `stem` shows the outputs of a full run (tools.site.build)."""
    return site_notebook(stem)["metadata"].get("cnn_course_run", {}).get("mode") == "full"


def is_training_lesson(stem: str) -> bool:
    """Return True for a lesson whose outputs differ in quick mode (it has a parameters cell)."""
    return any("parameters" in cell["metadata"].get("tags", []) for cell in site_notebook(stem)["cells"])


def test_home_page_shows_the_course_and_its_pictures(page, site_url):
    page.goto(site_url)
    assert "cnn-course" in page.title()
    assert "convolutional neural networks" in page.inner_text("article").lower()
    assert page.locator(".md-tabs__link").count() >= 4, "navigation tabs"
    assert "pip install -e" in page.inner_text("article")
    if REPOSITORY:
        assert page.locator(f"header a.md-source[href='{REPOSITORY.rstrip('/')}']").count() == 1, "the repository link"
    widths = loaded_images(page, ".home-figures img")
    assert len(widths) == 2 and all(width > 300 for width in widths), f"training curves and confusion matrix: {widths}"
    settle(page, 600)  # the navigation tabs fade in
    screenshot(page, "home")
    screenshot(page, "home-full", full_page=True)
    scheme = page.locator("body").get_attribute("data-md-color-scheme")
    page.locator("form[data-md-component='palette'] label:visible").first.click()
    assert page.locator("body").get_attribute("data-md-color-scheme") != scheme, "the light/dark toggle"


@pytest.mark.parametrize("stem", STEMS)
def test_lesson_page_renders_headings_code_figures_and_folded_solutions(page, site_url, stem):
    page.goto(f"{site_url}lessons/{stem}/", wait_until="networkidle")
    screenshot(page, f"lesson-{stem}")
    article = page.locator("article")
    headings = article.locator("h2").all_inner_texts()
    assert any("Exercise 1" in heading for heading in headings), headings
    assert page.locator(".jp-CodeCell .highlight-ipynb").count() >= 5, "code cells"
    assert not page.locator(".jp-InputPrompt:visible, .jp-OutputPrompt:visible, .celltoolbar:visible").count(), (
        "In [n] prompts or tag badges"
    )
    stubs = page.locator(".jp-CodeCell pre", has_text="raise NotImplementedError")
    assert stubs.count() >= 1, "exercise cells show the learner's stub"
    assert "passes every check" not in article.inner_text(), "a stub followed by its solution's self-check verdict"
    solutions = page.locator("details.tip")
    assert solutions.count() == stubs.count(), "one folded worked solution per exercise"
    assert not solutions.first.evaluate("details => details.open"), "worked solutions start folded"
    solutions.first.locator("summary").click()
    assert "return" in solutions.first.inner_text()
    settle(page)
    screenshot(page, f"lesson-{stem}-solution")
    download = page.locator(".lesson-download a").first.get_attribute("href")
    response = page.request.get(page.url + download)
    assert response.ok and '"cells"' in response.text(), f"download link {download}"
    figures = figure_count(stem)
    widths = loaded_images(page, ".jp-RenderedImage img")
    assert len(widths) == figures and all(width > 100 for width in widths), (
        f"{figures} figures expected, loaded: {widths}"
    )
    if figures:
        page.locator(".jp-RenderedImage img").last.scroll_into_view_if_needed()
        settle(page)
        screenshot(page, f"lesson-{stem}-figure")


@pytest.mark.parametrize("stem", STEMS)
def test_lesson_code_fits_the_page_at_1280_px(page, site_url, stem):
    page.goto(f"{site_url}lessons/{stem}/")
    sizes = page.eval_on_selector_all(
        ".jp-CodeCell .highlight-ipynb pre", "cells => cells.map(c => [c.scrollWidth, c.clientWidth])"
    )
    scrolling = [size for size in sizes if size[0] > size[1] + 1]
    assert len(scrolling) <= OVERFLOW_ALLOWANCE * len(sizes), (
        f"{len(scrolling)} of {len(sizes)} code cells scroll sideways: {scrolling}"
    )
    page_width = page.evaluate("() => document.documentElement.scrollWidth")
    assert page_width <= WIDTHS["desktop"], f"the page itself is {page_width} px wide"


@pytest.mark.parametrize("stem", STEMS)
def test_quick_mode_pages_say_so_and_show_what_ran(page, site_url, stem):
    """A training lesson's page without a full run carries the banner; its parameters cell shows QUICK_RUN = True."""
    page.goto(f"{site_url}lessons/{stem}/")
    quick = is_training_lesson(stem) and not built_from_full_run(stem)
    banner = page.locator(QUICK_BANNER)
    if quick:
        assert banner.count() == 1 and banner.is_visible(), "a quick-mode page without its banner"
        assert banner.bounding_box()["y"] < 1500, "the banner sits under the lesson's title"
    else:
        assert banner.count() == 0, "a page built from a full run carries the quick-mode banner"
    if is_training_lesson(stem):
        parameters = page.locator(".celltag_parameters pre").first.inner_text()
        assert f"QUICK_RUN = {quick}" in parameters, f"the parameters cell does not show what ran: {parameters}"


@pytest.mark.parametrize("stem", STEMS)
def test_lesson_page_starts_with_its_scaffolding_and_links_the_next_lesson(page, site_url, stem):
    page.goto(f"{site_url}lessons/{stem}/")
    text = page.inner_text("article")
    for label in ("Goal:", "You will learn to:", "Before you start:", "Time:", "Questions to think about"):
        assert label in text, f"the lesson page has no '{label}'"
    if REPOSITORY.startswith("https://github.com/"):
        assert page.locator(".lesson-download a.open-binder").count() == 1, (
            "a link to open the lesson in a hosted Jupyter"
        )
    later = STEMS[STEMS.index(stem) + 1 :]
    if later:
        link = page.locator(f"article a[href='../{later[0]}/']")
        assert link.count() >= 1, f"no link to the next lesson, {later[0]}"
        link.last.click()
        page.wait_for_url(f"**/lessons/{later[0]}/")


@pytest.mark.parametrize("stem", STEMS)
def test_screenshots_of_every_lesson_page_at_desktop_and_phone_width(browser, site_url, stem):
    """Whole-page screenshots to look at: site-screenshots/lesson-NN_topic-{1280,390}.png."""
    for width in WIDTHS.values():
        page = new_page(browser, width)
        page.goto(f"{site_url}lessons/{stem}/", wait_until="networkidle")
        page.wait_for_function(
            "() => !window.MathJax || !MathJax.Hub"
            " || MathJax.Hub.queue.running === 0 && MathJax.Hub.queue.pending === 0"
        )
        assert page.evaluate("() => document.documentElement.scrollWidth") <= width, (
            f"the page is wider than {width} px"
        )
        screenshot(page, f"lesson-{stem}-{width}", full_page=True)
        page.context.close()
        assert not page.errors and not page.refused, (page.errors, page.refused)


@pytest.mark.parametrize("path", ["lessons/02_mnist_cnn/", "concepts/"])
def test_equations_are_typeset_offline(page, site_url, path):
    page.goto(f"{site_url}{path}")
    page.wait_for_selector(".MathJax", timeout=30_000)
    page.wait_for_function("() => MathJax.Hub.queue.running === 0 && MathJax.Hub.queue.pending === 0", timeout=30_000)
    assert page.locator(".MathJax").count() >= 3
    assert not page.locator(".MathJax_Error, merror").count(), "TeX that MathJax could not typeset"
    text = page.inner_text("article")
    assert "\\frac" not in text and "$$" not in text, "raw TeX left on the page"
    fonts = page.evaluate("() => [...document.fonts].filter(f => f.status === 'loaded').map(f => f.family)")
    assert any("STIX" in family for family in fonts), f"MathJax's own fonts did not load: {fonts}"
    page.locator(".MathJax").nth(2).scroll_into_view_if_needed()
    settle(page)
    screenshot(page, f"equations-{path.split('/')[-2]}")


def test_concepts_page_shows_its_diagrams_and_what_the_network_sees(page, site_url):
    page.goto(f"{site_url}concepts/", wait_until="networkidle")
    widths = loaded_images(page, "article img")
    assert len(widths) >= 7 and all(width > 300 for width in widths), f"the concept diagrams, loaded: {widths}"
    assert any("What the network sees" in heading for heading in page.locator("article h2").all_inner_texts())
    page.locator("article img[src*='feature_maps']").scroll_into_view_if_needed()
    settle(page)
    screenshot(page, "concepts-feature-maps")


def test_search_previews_show_formulas_as_text_not_tex(built_site):
    docs = json.loads((built_site / "search" / "search_index.json").read_text(encoding="utf-8"))["docs"]
    mathy = [doc for doc in docs if doc["location"].startswith(("lessons/02_mnist_cnn/", "concepts/"))]
    assert any("⌊" in doc["text"] for doc in mathy), "the output-size formula, as text"
    raw = [doc["location"] for doc in mathy if "\\frac" in doc["text"] or "$$" in doc["text"]]
    assert not raw, f"TeX in the search previews of {raw}"


def test_no_page_shows_a_build_path(built_site):
    leaks = [
        str(path.relative_to(built_site))
        for path in built_site.glob("lessons/*/index.html")
        if any(marker in path.read_text(encoding="utf-8") for marker in ("cnn-course-site-", "/tmp/", "site-runs"))
    ]
    assert not leaks, f"pages that show a build machine's path: {leaks}"


@pytest.mark.parametrize(("stem", "word"), SEARCH_WORDS.items())
def test_search_finds_a_lesson_by_a_word_in_it(page, site_url, stem, word):
    page.goto(site_url)  # the search index loads when the search box gets the focus
    page.locator(".md-search__input").click()
    page.locator(".md-search__input").press_sequentially(word)
    page.locator(".md-search-result__item").first.wait_for(timeout=15_000)
    links = page.eval_on_selector_all(".md-search-result__item a", "links => links.map(link => link.href)")
    assert any(f"/lessons/{stem}/" in link for link in links), f"search for '{word}' found {links}"
    if stem == "01_mnist_data":
        screenshot(page, "search")


def test_worked_solutions_stay_out_of_the_search_index(built_site):
    """Search previews show a section's text: a solution there would be one keystroke away."""
    docs = json.loads((built_site / "search" / "search_index.json").read_text(encoding="utf-8"))["docs"]
    lesson = " ".join(doc["text"] for doc in docs if doc["location"].startswith("lessons/01_mnist_data/"))
    assert "count_per_class" in lesson, "the lesson is indexed"
    assert "minlength=num_classes" not in lesson, "the worked solution of count_per_class is indexed"


def test_api_reference_is_generated_from_the_docstrings(page, site_url):
    page.goto(f"{site_url}api/data/")
    assert page.locator("[id='cnn_course.data.load_mnist']").count() == 1
    from cnn_course.data import load_mnist

    assert load_mnist.__doc__.splitlines()[0] in page.inner_text("article")
    screenshot(page, "api-data")
    page.locator("[id='cnn_course.data.load_mnist']").scroll_into_view_if_needed()
    settle(page)
    screenshot(page, "api-data-load_mnist")


class LinksAndIds(HTMLParser):
    """Collect a page's local links (href, src) and the ids its elements carry."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name == "id" and value:
                self.ids.add(value)
            elif name in ("href", "src") and value and not urlsplit(value).scheme and not value.startswith("//"):
                self.links.append(value)


def test_every_local_link_and_anchor_resolves(built_site):
    """No page links to a missing file or to an anchor its target lacks (notebook pages included)."""
    pages = {path: LinksAndIds() for path in built_site.rglob("*.html")}
    for path, parser in pages.items():
        parser.feed(path.read_text(encoding="utf-8"))
    broken = []
    for path, parser in pages.items():
        for link in parser.links:
            parts = urlsplit(link)
            base = built_site if parts.path.startswith("/") else path.parent  # 404.html links from the site's root
            target = (base / unquote(parts.path).lstrip("/")).resolve() if parts.path else path
            if target.is_dir():
                target = target / "index.html"
            if not target.is_file():
                broken.append(f"{path.relative_to(built_site)}: {link} (no such file)")
            elif parts.fragment and target.suffix == ".html" and unquote(parts.fragment) not in pages[target].ids:
                broken.append(f"{path.relative_to(built_site)}: {link} (no such anchor)")
    assert not broken, "\n".join(sorted(set(broken)))


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", WIDTHS.values())
@pytest.mark.parametrize("path", PAGES)
def test_no_accessibility_violations(browser, site_url, path, scheme, width):
    """axe-core finds no WCAG 2.0/2.1/2.2 A or AA violation on the page (colour contrast, names, links, tap targets)."""
    if not AXE.is_file():
        unavailable(f"no axe-core at {AXE}: run `npm ci --prefix tools/axe`")
    context = browser.new_context(viewport={"width": width, "height": 900}, color_scheme=scheme)
    offline = Offline()
    context.route("**/*", offline)
    page = context.new_page()
    page.goto(f"{site_url}{path}", wait_until="load")
    page.wait_for_function(
        "() => !window.MathJax || !MathJax.Hub || MathJax.Hub.queue.running === 0 && MathJax.Hub.queue.pending === 0"
    )
    page.add_script_tag(path=str(AXE))
    violations = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})"
        ".then(result => result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.map(n => n.target.join(' ') + ': ' + n.failureSummary.split('\\n').slice(1, 2).join(''))})))",
        AXE_TAGS,
    )
    context.close()
    report = SCREENSHOTS / "axe" / f"{scheme}-{width}-{path.strip('/').replace('/', '_') or 'home'}.json"
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text(json.dumps({"page": path or "/", "violations": violations}, indent=1), encoding="utf-8")
    summary = [f"{v['id']} ({v['impact']}, {len(v['nodes'])}): {v['help']}; e.g. {v['nodes'][0]}" for v in violations]
    assert not violations, f"{path or 'home'} ({scheme}, {width} px):\n" + "\n".join(summary)
    assert not offline.refused, offline.refused


@pytest.mark.parametrize("stem", STEMS)
def test_lesson_figures_say_what_they_show(page, site_url, stem):
    page.goto(f"{site_url}lessons/{stem}/")
    alts = page.eval_on_selector_all(".jp-RenderedImage img", "images => images.map(image => image.alt)")
    assert len(alts) == figure_count(stem)
    vague = [alt for alt in alts if len(alt) < 40 or "no description" in alt.lower()]
    assert not vague, f"figures without a description of what they show: {vague}"


@pytest.mark.parametrize("stem", STEMS)
def test_worked_solutions_read_fully_at_1280_px_with_a_copy_button(page, site_url, stem):
    page.goto(f"{site_url}lessons/{stem}/")
    solutions = page.locator("details.tip")
    for i in range(solutions.count()):
        solutions.nth(i).locator("summary").click()
    sizes = page.eval_on_selector_all("details.tip pre", "blocks => blocks.map(b => [b.scrollWidth, b.clientWidth])")
    assert len(sizes) == solutions.count(), "one code block per worked solution"
    scrolling = [size for size in sizes if size[0] > size[1] + 1]
    assert not scrolling, f"{len(scrolling)} of {len(sizes)} worked solutions scroll sideways: {scrolling}"
    buttons = page.locator("details.tip button.md-code__button[title='Copy to clipboard']")
    assert buttons.count() == solutions.count(), "a copy button on each worked solution"
    outputs = page.eval_on_selector_all(
        ".jp-RenderedText pre", "blocks => blocks.map(b => [b.scrollWidth, b.clientWidth])"
    )
    assert not [size for size in outputs if size[0] > size[1] + 1], "printed outputs scroll sideways"
    if stem in ("05_cifar10_cnn", "07_own_images"):
        solutions.first.scroll_into_view_if_needed()
        settle(page)
        screenshot(page, f"worked-solution-{stem}-1280")


# The left edge of each wrapped line's continuation rows, and where its own indentation puts its first character.
WRAPPED_LINES = """() => [...document.querySelectorAll('.jupyter-wrapper pre .hang')].flatMap(line => {
  const range = document.createRange(); range.selectNodeContents(line);
  const rows = [...range.getClientRects()].filter(r => r.width > 0);
  const top = Math.min(...rows.map(r => r.top));
  const below = rows.filter(r => r.top > top + 2);
  if (!below.length) return [];
  const probe = document.createElement('span'); probe.textContent = ' '.repeat(line.textContent.search(/\\S|$/));
  line.prepend(probe); const indent = probe.getBoundingClientRect().width; probe.remove();
  const left = Math.min(...below.map(r => r.left)) - line.getBoundingClientRect().left;
  return [[line.textContent.trim().slice(0, 40), left, indent]];
})"""


@pytest.mark.parametrize("stem", STEMS)
def test_wrapped_lines_keep_their_indentation(browser, site_url, stem):
    """A code or output line too long for the column (on a phone) wraps under its own indentation, not at column 0."""
    page = new_page(browser, WIDTHS["phone"])
    page.goto(f"{site_url}lessons/{stem}/")
    for summary in page.locator("details.tip summary").all():
        summary.click()
    wrapped = page.evaluate(WRAPPED_LINES)
    page.context.close()
    assert wrapped, "no line wraps at 390 px"
    under = [(text, round(left), round(indent)) for text, left, indent in wrapped if left <= indent]
    assert not under, f"wrapped lines whose continuation starts left of their indentation: {under[:5]}"


@pytest.mark.parametrize("stem", STEMS)
def test_lesson_page_weighs_under_the_budget_on_first_load(browser, site_url, stem):
    """What a first visit downloads (fresh browser context: nothing cached); search loads its index when opened."""
    page = new_page(browser, WIDTHS["desktop"])
    sizes: dict[str, int] = {}
    page.context.on("requestfinished", lambda request: sizes.__setitem__(request.url, len(request.response().body())))
    page.goto(f"{site_url}lessons/{stem}/", wait_until="networkidle")
    page.wait_for_timeout(500)
    page.context.close()
    total = sum(sizes.values())
    largest = sorted(sizes.items(), key=lambda item: -item[1])[:5]
    assert total < PAGE_BUDGET, f"{stem}: {total:,} bytes in {len(sizes)} requests; largest: {largest}"


def test_keyboard_reaches_every_control_with_a_visible_focus(page, site_url):
    """Skip link first, then navigation, search, folded solutions and tabs: each reached by Tab and visibly focused."""
    page.goto(f"{site_url}lessons/01_mnist_data/")
    reached = []
    for _ in range(400):
        page.keyboard.press("Tab")
        # Material's colour-scheme toggle is a visually hidden radio input: its label shows the focus.
        focus = page.evaluate(
            "() => { const e = document.activeElement;"
            " const s = getComputedStyle(e.matches('input.md-option') ? e.nextElementSibling : e);"
            " return {tag: e.tagName, cls: e.className && e.className.baseVal === undefined ? e.className : '',"
            " outline: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0 || s.boxShadow !== 'none'}; }"
        )
        reached.append(focus)
        if focus["tag"] == "SUMMARY":
            break
    assert "md-skip" in reached[0]["cls"], f"the first Tab reaches {reached[0]}, not the skip link"
    assert any("md-tabs__link" in f["cls"] for f in reached), "the navigation tabs"
    assert any("md-nav__link" in f["cls"] for f in reached), "the navigation"
    assert reached[-1]["tag"] == "SUMMARY", "a folded worked solution"
    unfocused = [f for f in reached if not f["outline"]]
    assert not unfocused, f"controls without a visible focus: {unfocused[:5]}"
    page.keyboard.press("Enter")
    assert page.locator("details.tip").first.evaluate("details => details.open"), "Enter unfolds a solution"
    page.keyboard.press("/")
    assert page.evaluate("() => document.activeElement.classList.contains('md-search__input')"), "'/' opens search"


@pytest.mark.parametrize(("words", "section"), CONCEPT_SEARCHES.items())
def test_search_ranks_the_teaching_section_first(page, site_url, words, section):
    """Enter in the search box opens the best result (Material: the best-scored link of the first page's group)."""
    page.goto(site_url)
    page.locator(".md-search__input").click()
    page.locator(".md-search__input").press_sequentially(words)
    page.locator(".md-search-result__item").first.wait_for(timeout=15_000)
    page.wait_for_timeout(300)
    page.keyboard.press("Enter")
    page.wait_for_url("**/concepts/**", timeout=5_000)
    opened = urlsplit(page.url)
    assert f"{opened.path}#{opened.fragment}".endswith(section), f"search for '{words}' opens {page.url}"


def test_search_index_holds_no_tags_buttons_or_repeated_code(built_site):
    docs = json.loads((built_site / "search" / "search_index.json").read_text(encoding="utf-8"))["docs"]
    lessons = [doc for doc in docs if doc["location"].startswith("lessons/0")]
    for doc in lessons:
        assert "Copied!" not in doc["text"], f"copy-button text in {doc['location']}"
        assert not re.search(r"\b(?:exercise|setup|parameters|self-check) (?:Copied|def |import )", doc["text"]), doc[
            "location"
        ]
        # A stub raises with a message; the prose names the bare statement ("replace `raise NotImplementedError`").
        stubs = re.findall(r"raise NotImplementedError\(", doc["text"])
        definitions = collections.Counter(re.findall(r"\bdef (\w+)\(", doc["text"]))
        assert len(stubs) <= definitions.total(), f"stub code twice in {doc['location']}"
        assert all(count == 1 for count in definitions.values()), f"code twice in {doc['location']}: {definitions}"
