"""The built website in a real browser: home page, every lesson page, search, the API reference.

Headless Chromium (Debian's `chromium` package) driven by Playwright, against the built site
(`site/`) served on 127.0.0.1. Nothing outside localhost is fetched, except that MathJax's CDN is
answered from Debian's `libjs-mathjax` when it is installed, so equations typeset offline.
Screenshots go to `site-screenshots/`.

Build the site first:  python -m cnn_course.site lessons --quick && mkdocs build --strict
Run:                   pytest tests/site
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import threading
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from cnn_course.notebooks import lesson_stems

REPO = Path(__file__).resolve().parents[2]
SITE = REPO / "site"
SCREENSHOTS = REPO / "site-screenshots"
MATHJAX_CDN = "https://cdn.jsdelivr.net/npm/mathjax@2.7.9/"  # docs/overrides/main.html
LOCAL_MATHJAX = Path("/usr/share/javascript/mathjax")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
# A word of each lesson's prose that search must find (and the page it must lead to).
SEARCH_WORDS = {"01_mnist_data": "stratify", "02_mnist_cnn": "funnel", "03_mnist_training": "overfitting"}
REQUIRED = os.environ.get("CNN_COURSE_REQUIRE_SITE_TEST") == "1"  # set by .ci/run: skip becomes failure
NO_SITE = f"no built site in {SITE}: run `python -m cnn_course.site lessons --quick && mkdocs build --strict`"

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
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(built_site)))
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


def answer_offline(route) -> None:
    """Serve localhost; answer MathJax's CDN from the local copy; refuse everything else."""
    url = route.request.url
    if url.startswith("http://127.0.0.1:"):
        route.continue_()
    elif url.startswith(MATHJAX_CDN) and LOCAL_MATHJAX.is_dir():
        name = urlsplit(url).path.removeprefix(urlsplit(MATHJAX_CDN).path)
        if (LOCAL_MATHJAX / name).is_file():
            route.fulfill(path=str(LOCAL_MATHJAX / name))
        else:
            route.abort()
    else:
        route.abort()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.route("**/*", answer_offline)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


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
    """Return the natural widths of the images matching `selector` (0 for one that failed to load)."""
    return page.eval_on_selector_all(selector, "images => images.map(image => image.complete ? image.naturalWidth : 0)")


def figure_count(stem: str) -> int:
    """Return how many figures (PNG outputs) the site notebook of lesson `stem` holds."""
    path = REPO / "docs" / "lessons" / f"{stem}.ipynb"
    assert path.is_file(), f"no site notebook {path}: run `python -m cnn_course.site lessons --quick`, then build the site"
    notebook = json.loads(path.read_text(encoding="utf-8"))
    outputs = [output for cell in notebook["cells"] for output in cell.get("outputs", [])]
    return sum("image/png" in output.get("data", {}) for output in outputs)


def test_home_page_shows_the_course_and_its_pictures(page, site_url):
    page.goto(site_url)
    assert "cnn-course" in page.title()
    assert "convolutional neural networks" in page.inner_text("article").lower()
    assert page.locator(".md-tabs__link").count() >= 4, "navigation tabs"
    assert "pip install -e" in page.inner_text("article")
    widths = loaded_images(page, ".home-figures img")
    assert len(widths) == 2 and all(width > 300 for width in widths), f"training curves and confusion matrix: {widths}"
    settle(page, 600)  # the navigation tabs fade in
    screenshot(page, "home")
    screenshot(page, "home-full", full_page=True)
    scheme = page.locator("body").get_attribute("data-md-color-scheme")
    page.locator("form[data-md-component='palette'] label:visible").first.click()
    assert page.locator("body").get_attribute("data-md-color-scheme") != scheme, "the light/dark toggle"


@pytest.mark.parametrize("stem", lesson_stems(REPO / "solutions"))
def test_lesson_page_renders_headings_code_figures_and_folded_solutions(page, site_url, stem):
    page.goto(f"{site_url}lessons/{stem}/")
    screenshot(page, f"lesson-{stem}")
    article = page.locator("article")
    headings = article.locator("h2").all_inner_texts()
    assert any("Exercise 1" in heading for heading in headings), headings
    assert page.locator(".jp-CodeCell .highlight-ipynb").count() >= 5, "code cells"
    stubs = page.locator(".jp-CodeCell pre", has_text="raise NotImplementedError")
    assert stubs.count() >= 1, "exercise cells show the learner's stub"
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
    assert len(widths) == figures and all(width > 100 for width in widths), f"{figures} figures expected, loaded: {widths}"
    if figures:
        page.locator(".jp-RenderedImage img").last.scroll_into_view_if_needed()
        settle(page)
        screenshot(page, f"lesson-{stem}-figure")


@pytest.mark.parametrize("path", ["lessons/02_mnist_cnn/", "concepts/"])
def test_equations_are_typeset(page, site_url, path):
    if not LOCAL_MATHJAX.is_dir():
        unavailable("no local MathJax to typeset equations offline: apt-get install libjs-mathjax")
    page.goto(f"{site_url}{path}")
    page.wait_for_selector(".MathJax_CHTML", timeout=20_000)
    assert page.locator(".MathJax_CHTML").count() >= 3
    assert not page.locator(".MathJax_Error, merror").count(), "TeX that MathJax could not typeset"
    page.locator(".MathJax_CHTML").nth(2).scroll_into_view_if_needed()
    settle(page)
    screenshot(page, f"equations-{path.split('/')[-2]}")


@pytest.mark.parametrize(("stem", "word"), SEARCH_WORDS.items())
def test_search_finds_a_lesson_by_a_word_in_it(page, site_url, stem, word):
    page.goto(site_url, wait_until="networkidle")  # the search index has loaded in its worker
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
