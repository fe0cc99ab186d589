"""Fake names and CRM text: people, companies, pain points (all invented)."""

from __future__ import annotations

import numpy as np


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# characters and their pinyin, in step
SURNAMES = tuple(
    zip(
        "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋",
        _words(
            "wang li zhang liu chen yang huang zhao wu zhou xu sun ma "
            "zhu hu guo he lin luo gao zheng liang xie song"
        ),
        strict=True,
    )
)
GIVEN = tuple(
    zip(
        "伟芳娜敏静磊强洋艳杰涛明超霞平刚婷浩宇欣晨琳佳鹏",
        _words(
            "wei fang na min jing lei qiang yang yan jie tao ming "
            "chao xia ping gang ting hao yu xin chen lin jia peng"
        ),
        strict=True,
    )
)
FIRST = _words(
    "Anna Ben Carla David Elena Farid Grace Hiro Ines Jonas Karin Lucas Maya Nadia Omar Priya Rafael Sara "
    "Tomas Uma Victor Wen"
)
LAST = _words(
    "Alvarez Becker Costa Dubois Eriksen Fischer Garcia Haddad Ito Jansen Kowalski Lim Moreau Nguyen Okafor "
    "Petrov Rossi Santos Tan Weber"
)
CITIES = _words(
    "深圳 上海 北京 杭州 广州 苏州 成都 武汉 南京 西安 天津 重庆 合肥 厦门 青岛 宁波 长沙 郑州 东莞 佛山"
)
BRANDS = _words(
    "华星 恒通 瑞达 中科 博远 天成 鼎盛 海纳 启明 金桥 银河 新元 "
    "长风 云图 安泰 众诚 盛景 德润 远航 东方 嘉禾 凯越 宏图 华信"
)
INDUSTRY_ZH = {
    "consumer_electronics": "电子科技",
    "healthcare": "医疗器械",
    "energy": "新能源",
    "retail": "商贸连锁",
    "manufacturing": "精密制造",
    "finance": "金融服务",
    "education": "教育科技",
    "public_sector": "信息中心",
    "other": "实业",
}
INDUSTRY_EN = {
    "consumer_electronics": "Electronics",
    "healthcare": "Health",
    "energy": "Energy",
    "retail": "Retail",
    "manufacturing": "Industries",
    "finance": "Capital",
    "education": "Learning",
    "public_sector": "Agency",
    "other": "Group",
}
PREFIX_EN = _words(
    "Nordwind Siam Atlas Meridian Orion Pacific Andes Sahara Lumen Vertex "
    "Harbor Summit Crescent Aurora Delta Everest Nimbus Sierra Zenith Coral"
)
LEGAL = {"SEA": "Pte. Ltd.", "EU": "GmbH", "NA": "Inc.", "MEA": "LLC", "LATAM": "S.A.", "APAC": "Pty Ltd"}
COUNTRIES = {
    "CN": ("CN",),
    "SEA": ("SG", "MY", "TH", "VN", "ID"),
    "EU": ("DE", "FR", "NL", "IT", "PL"),
    "NA": ("US", "CA"),
    "MEA": ("AE", "SA", "ZA"),
    "LATAM": ("BR", "MX", "CL"),
    "APAC": ("JP", "KR", "AU"),
}
DIAL = {"CN": "+86", "SEA": "+65", "EU": "+49", "NA": "+1", "MEA": "+971", "LATAM": "+55", "APAC": "+81"}
PAIN_ZH = (
    "销售过程不透明，预测不准",
    "多系统数据孤岛，报表靠手工",
    "渠道管理粗放，返点难核算",
    "续约流失高，缺少预警",
    "合同审批慢，回款周期长",
    "海外子公司数据无法统一",
    "客户主数据重复，口径不一",
)
PAIN_EN = (
    "no single view of the pipeline",
    "manual month-end reporting",
    "renewals slip without warning",
    "partner deals are invisible",
    "slow contract approvals",
    "poor data quality in CRM",
)
CYCLES = (
    "annual tender in Q3",
    "年度招标（三季度）",
    "按项目采购",
    "quarterly PO",
    "budget set in Q4, buys in Q1",
    "年初预算，上半年采购",
    "framework agreement, call-offs monthly",
)
COMPETITORS = (
    "Salesforce",
    "SAP",
    "Oracle",
    "HubSpot",
    "Microsoft Dynamics",
    "纷享销客",
    "销售易",
    "用友",
    "金蝶",
)
NEXT_STEPS = (
    "send proposal",
    "book demo with IT",
    "安排高层拜访",
    "提交报价",
    "legal review of MSA",
    "POC kickoff",
    "等待预算审批",
    "negotiate payment terms",
    "reference call",
)
LOST_REASONS = ("price", "competitor", "no budget", "no decision", "timing", "项目取消", "选择了竞品")
# CRM placeholders a user types instead of leaving a field empty (docs/metrics.md crm_completeness)
PLACEHOLDERS = ("-", " N/A ", "tbd", "TBD", "未知", "暂无", "None", "n/a", "  -  ", "Unknown", "待定", "无")


def pick(rng: np.random.Generator, options: tuple, n: int) -> np.ndarray:
    out = np.empty(n, dtype=object)
    out[:] = [options[i] for i in rng.integers(0, len(options), n)]
    return out


def people(rng: np.random.Generator, n: int, chinese: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Names and their email handles; Chinese names where ``chinese`` is true."""
    s = rng.integers(0, len(SURNAMES), n)
    g1 = rng.integers(0, len(GIVEN), n)
    g2 = rng.integers(0, len(GIVEN), n)
    two = rng.random(n) < 0.5
    f = rng.integers(0, len(FIRST), n)
    la = rng.integers(0, len(LAST), n)
    names = np.empty(n, dtype=object)
    handles = np.empty(n, dtype=object)
    for i in range(n):
        if chinese[i]:
            given = GIVEN[g1[i]][0] + (GIVEN[g2[i]][0] if two[i] else "")
            names[i] = SURNAMES[s[i]][0] + given
            handles[i] = f"{SURNAMES[s[i]][1]}.{GIVEN[g1[i]][1]}{GIVEN[g2[i]][1] if two[i] else ''}"
        else:
            names[i] = f"{FIRST[f[i]]} {LAST[la[i]]}"
            handles[i] = f"{FIRST[f[i]].lower()}.{LAST[la[i]].lower()}"
    return names, handles


def companies(rng: np.random.Generator, regions: np.ndarray, industries: np.ndarray) -> np.ndarray:
    """Unique company names: Chinese for CN accounts, English otherwise."""
    n = len(regions)
    city = rng.integers(0, len(CITIES), n)
    brand = rng.integers(0, len(BRANDS), n)
    pre = rng.integers(0, len(PREFIX_EN), n)
    listed = rng.random(n) < 0.3
    seen: set[str] = set()
    out = np.empty(n, dtype=object)
    for i in range(n):
        if regions[i] == "CN":
            suffix = "股份有限公司" if listed[i] else "有限公司"
            name = f"{CITIES[city[i]]}{BRANDS[brand[i]]}{INDUSTRY_ZH[industries[i]]}{suffix}"
        else:
            name = f"{PREFIX_EN[pre[i]]} {INDUSTRY_EN[industries[i]]} {LEGAL[regions[i]]}"
        base, k = name, 2
        while name in seen:
            name = f"{base}（{k}）" if regions[i] == "CN" else f"{base} ({k})"
            k += 1
        seen.add(name)
        out[i] = name
    return out


def phones(rng: np.random.Generator, regions: np.ndarray) -> np.ndarray:
    digits = rng.integers(10_000_000, 99_999_999, len(regions))
    mobile = rng.integers(130, 190, len(regions))
    return np.array(
        [
            f"+86 {m} {str(d)[:4]} {str(d)[4:]}" if r == "CN" else f"{DIAL[r]} {str(d)[:3]} {str(d)[3:]}"
            for r, m, d in zip(regions, mobile, digits, strict=True)
        ],
        dtype=object,
    )
