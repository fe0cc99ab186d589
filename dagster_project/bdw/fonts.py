"""Matplotlib set-up shared by the report page and the notebooks: a font that has Chinese glyphs.

Matplotlib draws text with its own font files, not the browser's, so a chart with Chinese labels
needs a CJK font installed where the chart is drawn (Debian: ``apt-get install fonts-noto-cjk``;
Windows and macOS ship one). ``use_cjk_font`` picks the first one it finds.
"""

from __future__ import annotations

# Preferred families, best first: Noto/Source Han (Linux), then what Windows and macOS ship.
CJK_FAMILIES = (
    "Noto Sans CJK SC", "Source Han Sans SC", "Noto Sans SC", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei",
    "Microsoft YaHei", "SimHei", "PingFang SC", "Heiti SC", "Hiragino Sans GB", "Noto Sans CJK JP",
    "Noto Serif CJK SC",
)


def cjk_font() -> str | None:
    """The first installed font family (of ``CJK_FAMILIES``) that can draw Chinese, or None."""
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    return next((name for name in CJK_FAMILIES if name in installed), None)


def use_cjk_font() -> str | None:
    """Make matplotlib draw Chinese labels (and a real minus sign with them); returns the family used.

    Without a CJK font, Chinese characters would come out as empty boxes: the caller can say so."""
    import matplotlib

    family = cjk_font()
    if family:
        others = [f for f in matplotlib.rcParams["font.sans-serif"] if f != family]
        matplotlib.rcParams["font.sans-serif"] = [family, *others]
        matplotlib.rcParams["font.family"] = "sans-serif"
        matplotlib.rcParams["axes.unicode_minus"] = False
    return family
