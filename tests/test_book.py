"""The book, as a reader's browser shows it: built from the committed notebooks and opened in headless Chromium.

The book is built by tools/build_book.py (what `make book` runs). Chromium (Debian's `chromium` and
`chromium-driver`, through Selenium) opens the landing page and every notebook page from disk, with every
host name but localhost unresolvable (and, under `make test`, with the network cut), and the test asserts:
no console errors, every image loaded and described by its own alt text, MathJax loaded everywhere and no raw
TeX left (MathJax output present on every notebook page), sidebar and "Next" links that resolve, a search that finds
"Cholesky", and every solution hidden until toggled (one toggle per solution cell, on every notebook page).

Without Chromium (or without the vendored MathJax, which needs npm once) the test is skipped with a message saying
how to run it; under CI=true either is a failure, so CI cannot pass without having looked at the pages.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from conftest import ROOT

spec = importlib.util.spec_from_file_location("build_book", ROOT / "tools" / "build_book.py")
build_book = importlib.util.module_from_spec(spec)
spec.loader.exec_module(build_book)
curriculum_map = build_book.curriculum_map

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "chrome")
# a $…$ or $$…$$ span that looks like TeX (a command, a sub- or superscript, braces, or a lone symbol): MathJax
# replaces every such span, so one left in the visible text means the maths did not render
RAW_TEX = re.compile(r"\$\$?(?:[^$\n]*[\\^_{}][^$\n]*|\s*[A-Za-z]\s*)\$\$?")
HOW_TO_RUN = (
    "the browser test of the book did not run: Chromium and ChromeDriver were not found. Install them "
    "(Debian/Ubuntu: `sudo apt-get install chromium chromium-driver`; elsewhere Chrome + a matching chromedriver "
    "on PATH, or set CHROMIUM=/path/to/chrome CHROMEDRIVER=/path/to/chromedriver) and rerun "
    "`.venv/bin/pytest tests/test_book.py`."
)


def _find_browser() -> tuple[str, str] | None:
    browser = os.environ.get("CHROMIUM") or next(filter(None, map(shutil.which, CHROMIUM_NAMES)), None)
    driver = os.environ.get("CHROMEDRIVER") or shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


NO_MATHJAX = (
    f"the book test did not run: MathJax {build_book.MATHJAX_VERSION} is not vendored yet "
    f"(build/vendor/mathjax-{build_book.MATHJAX_VERSION}/). It is fetched once from the npm registry: install "
    "Node.js/npm (Debian/Ubuntu: `sudo apt-get install npm`), run `make book` once with the network up, then rerun "
    "`make test`."
)


def _did_not_run(message: str) -> None:
    """Skip with ``message`` on a learner's machine; under CI=true, where everything must run, fail."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("CI=true but " + message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def site() -> Path:
    if os.environ.get("BOOK_REUSE") and (build_book.HTML / "index.html").exists():
        return build_book.HTML  # while working on this test: reuse the last build
    if not (build_book.VENDOR / f"mathjax-{build_book.MATHJAX_VERSION}" / "tex-mml-chtml.js").exists():
        _did_not_run(NO_MATHJAX)
    html = build_book.build(quiet=True)
    assert (html / "index.html").exists()
    return html


@pytest.fixture(scope="module")
def browser():
    found = _find_browser()
    if found is None:
        _did_not_run(HOW_TO_RUN)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = found[0]
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-quic",
        "--allow-file-access-from-files",
        # no host resolves: a page that needs the network (a CDN) fails here even where the network is up
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost",
        "--window-size=1280,900",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=found[1]), options=options)
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(60)
    yield driver
    driver.quit()


def _open(driver, page: Path) -> list[dict]:
    """Load ``page``, wait for MathJax to finish, return the console messages of level SEVERE."""
    driver.get_log("browser")  # drop messages of the previous page
    driver.get(page.as_uri())
    driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "const wait = () => (window.MathJax && MathJax.startup && MathJax.startup.promise)"
        "  ? MathJax.startup.promise.then(() => done(true), () => done(false))"
        "  : (document.readyState === 'complete' && !document.querySelector('.math') ? done(true)"
        "  : setTimeout(wait, 100));"
        "wait();"
    )
    return [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def _pages(site: Path) -> list[Path]:
    return [site / "index.html"] + [site / nb.path.with_suffix(".html") for nb in curriculum_map.all_notebooks()]


def _resolves(href: str) -> bool:
    parsed = urlparse(href)
    return parsed.scheme != "file" or Path(unquote(parsed.path)).exists()


def _solutions_problems(browser, page: Path, name: str) -> list[str]:
    """Every solution cell of the notebook behind ``page`` is a closed "Show solution" toggle with its code hidden."""
    import json

    notebook = next(nb for nb in curriculum_map.all_notebooks() if page.name == nb.path.with_suffix(".html").name)
    cells = json.loads((ROOT / notebook.path).read_text(encoding="utf-8"))["cells"]
    expected = sum("solution" in c.get("metadata", {}).get("tags", []) for c in cells)
    found = browser.execute_script(
        "return Array.from(document.querySelectorAll('details.hide')).map(d => [d.open,"
        " d.querySelector('summary') ? d.querySelector('summary').innerText : '',"
        # checkVisibility: a closed <details> keeps its content laid out but hides it (content-visibility)
        " Boolean(d.querySelector('.cell_input') && d.querySelector('.cell_input').checkVisibility("
        "{contentVisibilityAuto: true, opacityProperty: true, visibilityProperty: true}))]);"
    )
    problems = (
        [f"{name}: {len(found)} solution toggles for {expected} solution cells"] if len(found) != expected else []
    )
    for index, (is_open, summary, visible) in enumerate(found):
        if is_open or visible or "Show solution" not in summary:
            problems.append(f"{name}: solution {index + 1} is not hidden behind 'Show solution'")
    return problems


def test_a_figure_description_joins_its_comment_lines():
    source = "# Figure: time against n,\n# with a slope-3 guide\nplt.plot(x)\n# not part of it"
    assert build_book.figure_description(source) == "time against n, with a slope-3 guide"
    assert build_book.figure_description("# NBVAL_CHECK_OUTPUT\nplt.plot(x)") is None
    assert build_book.figure_description("# Figure: one line\n# NBVAL_CHECK_OUTPUT\nx") == "one line"


def test_every_page_renders_offline(site, browser):
    problems = []
    pages = _pages(site)
    for page in pages:
        name = page.relative_to(site).as_posix()
        assert page.exists(), f"{name} was not built"
        errors = _open(browser, page)
        problems += [f"{name}: console error {entry['message'][:200]}" for entry in errors]
        images = browser.execute_script(
            "return Array.from(document.images).map(i => [i.src, i.complete && i.naturalWidth > 0, i.alt]);"
        )
        problems += [f"{name}: image {src} did not load" for src, loaded, _ in images if not loaded]
        problems += [f"{name}: image {src} has no alt text" for src, _, alt in images if not (alt or "").strip()]
        problems += [
            f"{name}: image {src} has only the generic alt text {alt[:60]!r} (begin its cell with '# Figure: …')"
            for src, _, alt in images
            if (alt or "").startswith(build_book.FALLBACK_ALT)
        ]
        text = browser.execute_script(
            "const main = document.querySelector('main') || document.body;"
            "const copy = main.cloneNode(true);"
            "copy.querySelectorAll('pre, code, script, mjx-container, .highlight').forEach(e => e.remove());"
            "return copy.innerText;"
        )
        problems += [f"{name}: raw TeX left: {m!r}" for m in RAW_TEX.findall(text)[:3]]
        if not browser.execute_script("return Boolean(window.MathJax && MathJax.version);"):
            problems.append(f"{name}: MathJax did not load (is it vendored into _static/mathjax?)")
        if page.name != "index.html":
            typeset = browser.execute_script("return document.querySelectorAll('mjx-container').length;")
            if not typeset:
                problems.append(f"{name}: no MathJax output (is MathJax vendored and loading?)")
            problems += _solutions_problems(browser, page, name)
        links = browser.execute_script(
            "return Array.from(document.querySelectorAll('.bd-sidebar-primary a.reference.internal')).map(a => a.href);"
        )
        if not links:
            problems.append(f"{name}: no sidebar links")
        problems += [f"{name}: sidebar link {href} does not resolve" for href in links if not _resolves(href)]
    assert not problems, "\n".join(problems)


def test_next_lines_are_links_that_resolve(site, browser):
    notebooks = curriculum_map.all_notebooks()
    for here, there in zip(notebooks, notebooks[1:], strict=False):
        _open(browser, site / here.path.with_suffix(".html"))
        hrefs = browser.execute_script(
            "return Array.from(document.querySelectorAll('main p')).filter(p => p.innerText.startsWith('Next:'))"
            ".flatMap(p => Array.from(p.querySelectorAll('a')).map(a => a.href));"
        )
        assert hrefs, f"{here.path}: the Next line has no link"
        target = Path(unquote(urlparse(hrefs[0]).path))
        assert target == (site / there.path.with_suffix(".html")).resolve(), f"{here.path}: Next goes to {target}"


def test_search_finds_a_known_term(site, browser):
    _open(browser, site / "search.html")
    browser.get((site / "search.html").as_uri() + "?q=Cholesky")
    results = browser.execute_async_script(
        "const done = arguments[arguments.length - 1]; let tries = 0;"
        "const poll = () => { const n = document.querySelectorAll('#search-results li').length;"
        "  if (n || ++tries > 100) done(n); else setTimeout(poll, 100); }; poll();"
    )
    assert results > 0, "searching the book for 'Cholesky' found nothing"


def test_solutions_are_hidden_until_toggled(site, browser):
    from selenium.webdriver.common.by import By

    notebook = curriculum_map.all_notebooks()[0]
    _open(browser, site / notebook.path.with_suffix(".html"))
    solutions = browser.find_elements(By.CSS_SELECTOR, "details.hide")
    assert len(solutions) >= 3, "expected at least three collapsed solution cells"
    for details in solutions:
        assert details.get_attribute("open") is None
        assert "Show solution" in details.find_element(By.TAG_NAME, "summary").text
        assert not details.find_element(By.CSS_SELECTOR, ".cell_input").is_displayed()
    summary = solutions[0].find_element(By.TAG_NAME, "summary")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", summary)
    summary.click()
    code = solutions[0].find_element(By.CSS_SELECTOR, ".cell_input")
    # the toggle opens the <details> with a short animation: wait for it (up to 10 s) instead of racing it
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, 10).until(lambda _: code.is_displayed())
    assert solutions[0].get_attribute("open") is not None
    assert "assert checks.ex" in code.text
