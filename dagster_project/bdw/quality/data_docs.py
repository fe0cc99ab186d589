"""Data Docs that work offline: the scripts, stylesheets and fonts the pages need, served from the
Data Docs folder itself.

Great Expectations renders every page with ``<script>``/``<link>`` tags pointing at public CDNs
(its templates hard-code them, and a site's custom views cannot replace its own templates). Opened
offline, or on a network that blocks or slows those CDNs (common in mainland China), the index
shows two "Clear Filters" buttons and no list of validations, and the validation pages lose their
layout. So after each build, :func:`localise` copies the vendored files (``data_docs_assets/``,
each unchanged from its npm package, with its licence) to ``<docs>/static/vendor/`` and rewrites
every page to point at them, relative to the page, so the folder can be moved or zipped whole. The
GX logo, which the pages load from Amazon S3, points at the copy GX itself puts in
``static/images/``. Rewriting is idempotent: a page already rewritten is left as it is.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

ASSETS_DIR = Path(__file__).with_name("data_docs_assets")
VENDOR = "static/vendor/"  # where the assets go, relative to the Data Docs folder

# every CDN file GX's templates (great_expectations/render/view/templates) link, and its local copy
CDN: dict[str, str] = {
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery/jquery.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js": "popper.js/popper.min.js",
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css": "bootstrap/css/bootstrap.min.css",
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js": "bootstrap/js/bootstrap.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css": "bootstrap-table/bootstrap-table.min.css",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js": "bootstrap-table/bootstrap-table.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.js":
        "bootstrap-table/extensions/filter-control/bootstrap-table-filter-control.min.js",
    # GX links the 1.19.0 stylesheet of the filter control (minified on the index, plain elsewhere)
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.min.css":
        "bootstrap-table/extensions/filter-control/bootstrap-table-filter-control.min.css",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.css":
        "bootstrap-table/extensions/filter-control/bootstrap-table-filter-control.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/bootstrap-datepicker.min.css":
        "bootstrap-datepicker/css/bootstrap-datepicker.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/bootstrap-datepicker.min.js":
        "bootstrap-datepicker/js/bootstrap-datepicker.min.js",
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.css":
        "bootstrap-dark/bootstrap-prefers-dark.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css": "fontawesome/css/all.min.css",
}
# Vega draws GX's charts; no expectation bdw uses has one, so a page that draws none loses these tags
VEGA = ("https://cdn.jsdelivr.net/npm/vega@5", "https://cdn.jsdelivr.net/npm/vega-lite@5",
        "https://cdn.jsdelivr.net/npm/vega-embed@6")
# the GX logo, loaded from S3 (the navbar's image, and the dark theme's background), and its local copy
LOGO = re.compile(r"https://great-expectations-web-assets\.s3\.us-east-2\.amazonaws\.com/"
                  r"(?:logo-long|full_logo_dark)\.png(?:\?[^\"')\s]*)?")
LOCAL_LOGO = "static/images/logo-long.png"

_TAG = re.compile(r"<(?P<tag>script|link)\b(?P<attrs>[^>]*)>(?P<close>\s*</script>)?", re.IGNORECASE)
_URL_ATTR = re.compile(r"\b(?:src|href)=\"(?P<url>[^\"]+)\"")
# SRI and CORS attributes: a file:// page cannot load a script fetched in CORS mode
_CORS_ATTRS = re.compile(r"\s+(?:integrity|crossorigin)=\"[^\"]*\"")
_REMOTE = re.compile(r"<(?:script|link|img)\b[^>]*\b(?:src|href)=\"(https?://[^\"]+)\"|url\(['\"]?(https?://[^'\")]+)",
                     re.IGNORECASE)


def _prefix(page: Path, docs_dir: Path) -> str:
    """The way from ``page``'s folder back to the Data Docs folder: ``""``, ``"../../"``, ..."""
    up = Path(os.path.relpath(docs_dir, page.parent)).as_posix()
    return "" if up == "." else f"{up}/"


def localise_page(text: str, prefix: str) -> str:
    """``text`` (a page, or a stylesheet) with every known CDN file and the GX logo pointing at the
    local copies, ``prefix`` leading from it to the Data Docs folder."""
    draws_charts = "vegaEmbed(" in text

    def tag(m: re.Match) -> str:
        url = _URL_ATTR.search(m["attrs"])
        if url is None:
            return m[0]
        if url["url"] in VEGA and not draws_charts:
            return ""
        if url["url"] not in CDN:
            return m[0]
        attrs = _CORS_ATTRS.sub("", m["attrs"]).replace(url["url"], prefix + VENDOR + CDN[url["url"]])
        return f"<{m['tag']}{attrs}>{m['close'] or ''}"

    return LOGO.sub(prefix + LOCAL_LOGO, _TAG.sub(tag, text))


def remote_resources(text: str) -> set[str]:
    """The URLs ``text`` still loads from the network (scripts, stylesheets, images, CSS ``url()``);
    links a reader may follow (``<a href>``) are not loaded, so not counted."""
    return {m[1] or m[2] for m in _REMOTE.finditer(text)}


def install_assets(docs_dir: Path) -> None:
    """Copy the vendored assets to ``<docs_dir>/static/vendor/`` (a file already there, the same
    size and age, is left)."""
    for src in ASSETS_DIR.rglob("*"):
        if not src.is_file():
            continue
        dest = docs_dir / VENDOR / src.relative_to(ASSETS_DIR)
        if dest.exists() and dest.stat().st_size == src.stat().st_size and \
                dest.stat().st_mtime_ns == src.stat().st_mtime_ns:
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dest)


def localise(docs_dir: Path) -> list[str]:
    """Make the Data Docs site in ``docs_dir`` work offline: install the assets and rewrite every
    page and GX stylesheet. Returns what still loads from the network (``page: url``), which is
    nothing unless a page draws a Vega chart or a GX upgrade linked a new CDN file."""
    install_assets(docs_dir)
    remaining: list[str] = []
    vendor = docs_dir / VENDOR
    for path in sorted([*docs_dir.rglob("*.html"), *docs_dir.glob("static/styles/*.css")]):
        if vendor in path.parents:
            continue
        text = path.read_text(encoding="utf-8")
        new = localise_page(text, _prefix(path, docs_dir))
        if new != text:
            tmp = path.with_name(f".{path.name}.tmp")
            tmp.write_text(new, encoding="utf-8")
            os.replace(tmp, path)
        remaining += [f"{path.relative_to(docs_dir).as_posix()}: {url}" for url in sorted(remote_resources(new))]
    return remaining
