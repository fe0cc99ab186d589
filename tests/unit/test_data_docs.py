"""Data Docs that work offline, the parts that need no browser (bdw.quality.data_docs): every CDN
file GX's templates link has a vendored copy with its licence, the copies are the bytes GX pins, and
a page is rewritten to them (the browser test is tests/e2e/test_data_docs_offline.py)."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

import great_expectations

from bdw.quality.data_docs import ASSETS_DIR, CDN, VEGA, localise, localise_page, remote_resources

TEMPLATES = Path(great_expectations.__file__).parent / "render" / "view" / "templates"
CDN_HOSTS = ("unpkg.com", "cdn.jsdelivr.net", "cdnjs.cloudflare.com", "code.jquery.com", "stackpath.bootstrapcdn.com",
             "maxcdn.bootstrapcdn.com")


def template_urls() -> dict[str, str]:
    """Every script or stylesheet URL of GX's page templates, with the tag that links it."""
    found = {}
    for template in TEMPLATES.glob("*.j2"):
        for tag in re.findall(r"<(?:script|link)\b[^>]*>", template.read_text(encoding="utf-8")):
            url = re.search(r"(?:src|href)=\"(https?://[^\"]+)\"", tag)
            if url:
                found[url[1]] = tag
    return found


def test_every_cdn_file_of_gx_templates_has_a_local_copy():
    """A GX upgrade that links another CDN file fails here, naming it."""
    urls = template_urls()
    assert {u for u in urls if u.split("/")[2] in CDN_HOSTS} == set(CDN) | set(VEGA)
    for url, path in CDN.items():
        assert (ASSETS_DIR / path).is_file(), url


def test_each_vendored_library_has_its_licence_and_the_total_stays_small():
    libraries = [d for d in ASSETS_DIR.iterdir() if d.is_dir()]
    assert {d.name for d in libraries} == {p.split("/")[0] for p in CDN.values()}
    for library in libraries:
        assert any(f.name.startswith("LICENSE") for f in library.iterdir()), library.name
    assert sum(f.stat().st_size for f in ASSETS_DIR.rglob("*") if f.is_file()) < 1_200_000


def test_the_copies_are_the_bytes_gx_pins_with_subresource_integrity():
    pinned = {url: re.search(r"integrity=\"(sha384-[^\"]+)\"", tag) for url, tag in template_urls().items()}
    pinned = {url: m[1] for url, m in pinned.items() if m}
    assert len(pinned) == 2  # popper.js and bootstrap.js
    for url, sri in pinned.items():
        digest = base64.b64encode(hashlib.sha384((ASSETS_DIR / CDN[url]).read_bytes()).digest()).decode()
        assert sri == f"sha384-{digest}", url


def test_the_font_awesome_stylesheet_finds_the_webfonts_the_pages_use():
    css = (ASSETS_DIR / "fontawesome/css/all.min.css").read_text(encoding="utf-8")
    for font in ("fa-solid-900.woff2", "fa-regular-400.woff2"):
        assert f"url(../webfonts/{font})" in css
        assert (ASSETS_DIR / "fontawesome/webfonts" / font).is_file()


S3 = "https://great-expectations-web-assets.s3.us-east-2.amazonaws.com"
POPPER = "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js"
PAGE = f"""<html><head>
<link rel="stylesheet" href="https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css"/>
<script src="https://cdn.jsdelivr.net/npm/vega@5"></script>
<script src="{POPPER}" integrity="sha384-x" crossorigin="anonymous"></script>
<style>.navbar-brand a {{ background: url('{S3}/full_logo_dark.png') }}</style>
</head><body><img src="{S3}/logo-long.png?d=20261206T041556Z"/>
<a href="https://greatexpectations.io">GX</a>CHART</body></html>"""


def test_a_page_is_pointed_at_the_local_copies_relative_to_itself():
    out = localise_page(PAGE.replace("CHART", ""), "../../")
    assert out == """<html><head>
<link rel="stylesheet" href="../../static/vendor/bootstrap/css/bootstrap.min.css"/>

<script src="../../static/vendor/popper.js/popper.min.js"></script>
<style>.navbar-brand a { background: url('../../static/images/logo-long.png') }</style>
</head><body><img src="../../static/images/logo-long.png"/>
<a href="https://greatexpectations.io">GX</a></body></html>"""
    assert remote_resources(out) == set()  # the link to greatexpectations.io is followed, not loaded
    assert localise_page(out, "../../") == out


def test_a_page_that_draws_a_chart_keeps_vega_and_says_so():
    out = localise_page(PAGE.replace("CHART", "<script>vegaEmbed('#g', spec)</script>"), "")
    assert '<script src="https://cdn.jsdelivr.net/npm/vega@5"></script>' in out
    assert remote_resources(out) == {"https://cdn.jsdelivr.net/npm/vega@5"}


def test_localise_installs_the_assets_and_rewrites_every_page(tmp_path):
    docs = tmp_path / "data_docs"
    page = docs / "validations" / "suite" / "table" / "run" / "time" / "batch.html"
    page.parent.mkdir(parents=True)
    page.write_text(PAGE.replace("CHART", ""), encoding="utf-8")
    (docs / "index.html").write_text(PAGE.replace("CHART", "<script>vegaEmbed('#g', spec)</script>"),
                                     encoding="utf-8")
    assert localise(docs) == ["index.html: https://cdn.jsdelivr.net/npm/vega@5"]
    assert 'href="../../../../../static/vendor/bootstrap/css/bootstrap.min.css"' in page.read_text(encoding="utf-8")
    for path in CDN.values():
        assert (docs / "static/vendor" / path).read_bytes() == (ASSETS_DIR / path).read_bytes()
    assert (docs / "static/vendor/bootstrap-datepicker/LICENSE").is_file()
