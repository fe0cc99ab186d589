"""`bdw sample`: reproducible, scalable, messy the way real exports are, and inside the contract."""

from __future__ import annotations

import csv
import hashlib
import io
import re
from datetime import date
from pathlib import Path

import numpy as np
import openpyxl
import pyarrow.parquet as pq
import pytest

from bdw.contract import SOURCES, TRUE_WORDS
from bdw.sample import figures, world, write_sample

AS_OF = figures.DEFAULT_AS_OF
SCALED = (
    "accounts",
    "opportunities",
    "opportunity_snapshots",
    "contracts",
    "contract_lines",
    "payments",
    "costs",
    "customer_financials",
)
FIXED = ("reps", "partners", "fx_rates", "rep_reviews", "quotas", "manual_measurements")
CHECK_IN = "ACT5"  # activity ids of the 2026 visit check-ins (a fixed team's visits: they do not scale)
PRESALES = "ACT6"  # activity ids of presales' demos, meetings and calls (a fixed team too)
NAME = re.compile(r"^(\d{4}-\d{2}-\d{2})_([a-z_]+)( \(\d+\))?\.(csv|xlsx|parquet)$")


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    out = tmp_path_factory.mktemp("sample")
    return out, write_sample(out)


@pytest.fixture(scope="module")
def inbox(sample: tuple[Path, dict[str, int]]) -> Path:
    return sample[0]


@pytest.fixture(scope="module")
def rows(inbox: Path) -> dict[str, list[tuple[str, list[str], list[list[object]]]]]:
    """Every file as (name, header, rows), read the way its format asks."""
    return {s: [(p.name, *_read(p)) for p in sorted((inbox / s).iterdir())] for s in SOURCES}


def _digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _decode(raw: bytes) -> tuple[str, str]:
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8"), "utf-8-sig"
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return raw.decode("gbk"), "gbk"


def _read(path: Path) -> tuple[list[str], list[list[object]]]:
    if path.suffix == ".csv":
        table = list(csv.reader(io.StringIO(_decode(path.read_bytes())[0])))
        return table[0], table[1:]
    if path.suffix == ".parquet":
        t = pq.read_table(path)
        return t.column_names, [list(r.values()) for r in t.to_pylist()]
    ws = openpyxl.load_workbook(path).worksheets[0]
    values = [list(r) for r in ws.iter_rows(values_only=True)]
    first = next(i for i, r in enumerate(values) if sum(v is not None for v in r) > 1)
    return [str(h) for h in values[first]], values[first + 1 :]


def _column(rows: dict, source: str, column: str) -> list[tuple[str, object]]:
    out = []
    for name, header, data in rows[source]:
        i = [h.strip().lower() for h in header].index(column)
        out += [(name, r[i]) for r in data]
    return out


# ---- reproducible ---------------------------------------------------------------------------------
def test_same_arguments_give_the_same_bytes(inbox: Path, tmp_path: Path) -> None:
    write_sample(tmp_path / "again")
    assert _digests(tmp_path / "again") == _digests(inbox)


def test_another_seed_gives_other_data(inbox: Path, tmp_path: Path) -> None:
    write_sample(tmp_path / "other", seed=7)
    mine, other = _digests(inbox), _digests(tmp_path / "other")
    changed = [k for k in other if k.startswith(("contracts/", "opportunities/")) and other[k] != mine.get(k)]
    assert len(changed) > 50


# ---- layout and contract --------------------------------------------------------------------------
def test_every_source_is_written_in_dated_files(sample: tuple[Path, dict[str, int]]) -> None:
    inbox, counts = sample
    assert set(counts) == set(SOURCES)
    for source in SOURCES:
        files = sorted(p.name for p in (inbox / source).iterdir())
        assert files and counts[source] > 0, source
        for name in files:
            m = NAME.match(name)
            assert m and m.group(2) == source, name
            assert date.fromisoformat(m.group(1)) <= AS_OF, name
    assert len(list((inbox / "opportunity_snapshots").iterdir())) > 140  # weekly
    assert len(list((inbox / "contracts").iterdir())) >= 34  # monthly


def test_headers_are_contract_columns(rows: dict) -> None:
    for source, files in rows.items():
        known = set(SOURCES[source].column_names)
        for name, header, _ in files:
            cols = [h.strip().lower() for h in header]
            assert set(cols) <= known, (name, set(cols) - known)
            assert set(SOURCES[source].mandatory_headers) <= set(cols), name


def test_no_key_twice_in_a_file(rows: dict) -> None:
    for source, files in rows.items():
        for name, header, data in files:
            cols = [h.strip().lower() for h in header]
            idx = [cols.index(k) for k in SOURCES[source].key]
            keys = [tuple(str(r[i]).strip() for i in idx) for r in data]
            assert len(keys) == len(set(keys)), name


def test_foreign_currency_rows_have_a_rate_for_their_month(rows: dict) -> None:
    rates = {
        (str(m), str(c))
        for (_, m), (_, c) in zip(
            _column(rows, "fx_rates", "month"), _column(rows, "fx_rates", "currency"), strict=True
        )
    }
    used = set()
    for source, col in (("contracts", "signed_date"), ("payments", "received_date"), ("costs", "cost_date")):
        for (_, ccy), (_, day) in zip(
            _column(rows, source, "currency"), _column(rows, source, col), strict=True
        ):
            if ccy != "CNY":
                month = day.strftime("%Y-%m") if isinstance(day, date) else str(day).replace("/", "-")[:7]
                used.add((month, ccy))
    assert {c for _, c in used} >= {"USD", "EUR", "SGD"}
    assert used <= rates


# ---- scale ---------------------------------------------------------------------------------------
def test_scale_multiplies_the_business_not_the_team(
    sample: tuple[Path, dict[str, int]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    inbox, counts = sample
    out = tmp_path_factory.mktemp("scale10")
    tenfold = write_sample(out, scale=10)
    for source in SCALED:
        assert 9.0 <= tenfold[source] / counts[source] <= 11.0, source
    for source in FIXED:
        assert tenfold[source] == counts[source], source
    # activities: the touches on deals and accounts scale, the field team's check-ins and presales' do not
    (touches, check_ins, presales), (touches10, check_ins10, presales10) = _activity_split(inbox), _activity_split(out)
    assert 9.0 <= touches10 / touches <= 11.0
    assert 0.8 <= check_ins10 / check_ins <= 1.25
    assert 0.8 <= presales10 / presales <= 1.25


def _activity_split(inbox: Path) -> tuple[int, int, int]:
    """(touches on deals and accounts, visit check-ins, presales activities) among the activity rows
    of an inbox."""
    ids = [str(r[0]) for p in sorted((inbox / "activities").iterdir()) for r in _read(p)[1]]
    check_ins = sum(i.startswith(CHECK_IN) for i in ids)
    presales = sum(i.startswith(PRESALES) for i in ids)
    return len(ids) - check_ins - presales, check_ins, presales


# ---- messiness -----------------------------------------------------------------------------------
def test_a_gbk_file_with_chinese_text_and_dates(inbox: Path) -> None:
    gbk = []
    for p in (inbox / "accounts").glob("*.csv"):
        try:
            p.read_bytes().decode("utf-8")
        except UnicodeDecodeError:
            gbk.append(p.read_bytes().decode("gbk"))
    assert len(gbk) == 1
    assert "有限公司" in gbk[0] and re.search(r"\d{4}年\d{1,2}月\d{1,2}日", gbk[0])


def test_a_utf8_bom_file(inbox: Path) -> None:
    assert any(p.read_bytes().startswith(b"\xef\xbb\xbf") for p in inbox.rglob("*.csv"))


def test_an_xlsx_with_a_title_row_and_date_cells(inbox: Path) -> None:
    (path,) = list(inbox.rglob("*.xlsx"))
    ws = openpyxl.load_workbook(path).worksheets[0]
    values = [list(r) for r in ws.iter_rows(values_only=True)]
    assert values[0][0].startswith("Contract export") and all(v is None for v in values[0][1:])
    assert all(v is None for v in values[1])
    assert "signed_date" in [str(h).lower() for h in values[2]]
    assert any(ws.cell(row=4, column=j).is_date for j in range(1, ws.max_column + 1))


def test_a_parquet_file(inbox: Path) -> None:
    (path,) = list(inbox.rglob("*.parquet"))
    assert pq.read_table(path).num_rows > 0


def test_money_with_thousands_separators(rows: dict) -> None:
    amounts = [v for s in ("contract_lines", "payments") for _, v in _column(rows, s, "amount")]
    assert any(re.fullmatch(r"-?\d{1,3}(,\d{3})+\.\d{2}", str(v)) for v in amounts)


def test_other_date_styles(rows: dict) -> None:
    days = [
        str(v)
        for s in ("payments", "activities")
        for _, v in _column(
            rows, s, next(c for c in SOURCES[s].column_names if SOURCES[s].column(c).type == "date")
        )
    ]
    assert any(re.fullmatch(r"\d{4}/\d{2}/\d{2}", v) for v in days)


def test_boolean_words(rows: dict) -> None:
    words = {
        str(v).strip()
        for s, c in (("opportunities", "budget_confirmed"), ("partners", "credit_suspended"))
        for _, v in _column(rows, s, c)
    }
    assert {"yes", "no", "是", "否", "true", "false"} <= words


def test_enum_values_in_odd_case(rows: dict) -> None:
    stages = {str(v) for _, v in _column(rows, "opportunities", "stage")}
    assert any(v != v.strip().lower() for v in stages)
    assert {v.strip().lower() for v in stages} <= set(SOURCES["opportunities"].column("stage").enum)


def test_blank_and_placeholder_crm_fields(rows: dict) -> None:
    seed = Path(__file__).resolve().parents[2] / "seeds" / "crm_placeholders.csv"
    placeholders = {r["placeholder"].strip().lower() for r in csv.DictReader(seed.open(encoding="utf-8"))}
    for source, column in (("accounts", "pain_points"), ("opportunities", "next_step")):
        values = [v for _, v in _column(rows, source, column)]
        assert any(v == "" for v in values), column
        found = {str(v).strip().lower() for v in values if str(v).strip().lower() in placeholders}
        assert len(found) >= 3, found
        assert any(str(v) != str(v).strip() for v in values if str(v).strip().lower() in placeholders)


def test_a_refund_and_a_cancelled_contract(rows: dict) -> None:
    assert any(float(str(v).replace(",", "")) < 0 for _, v in _column(rows, "payments", "amount"))
    status = list(
        zip(_column(rows, "contracts", "contract_id"), _column(rows, "contracts", "status"), strict=True)
    )
    cancelled = {cid for (_, cid), (_, s) in status if str(s).strip().lower() == "cancelled"}
    earlier_active = {cid for (_, cid), (_, s) in status if str(s).strip().lower() == "active"}
    assert cancelled and cancelled <= earlier_active


def test_a_duplicate_re_export(inbox: Path) -> None:
    digests: dict[str, list[str]] = {}
    for p in inbox.rglob("*"):
        if p.is_file():
            digests.setdefault(hashlib.sha256(p.read_bytes()).hexdigest(), []).append(p.name)
    assert any(len(names) > 1 for names in digests.values())


def test_deleted_records_in_later_files(rows: dict) -> None:
    for source, key in (("accounts", "account_id"), ("opportunities", "opportunity_id")):
        seen: dict[str, str] = {}
        deleted = []
        for (name, k), (_, flag) in zip(
            _column(rows, source, key), _column(rows, source, "is_deleted"), strict=True
        ):
            if str(flag).strip().lower() in TRUE_WORDS:
                deleted.append((k, name))
            else:
                seen.setdefault(k, name)
        assert deleted and all(k in seen and seen[k] < name for k, name in deleted), source


def test_only_a_handful_of_bad_crm_rows(rows: dict) -> None:
    good = re.compile(r"^\d{4}[-/]\d{2}[-/]\d{2}$")
    bad = [(n, v) for n, v in _column(rows, "activities", "activity_date") if not good.match(str(v))]
    assert 1 <= len(bad) <= 5 and len({n for n, _ in bad}) == 1


def test_finance_references_are_known(rows: dict) -> None:
    contracts = {str(v) for _, v in _column(rows, "contracts", "contract_id")}
    accounts = {str(v) for _, v in _column(rows, "accounts", "account_id")}
    for source in ("contract_lines", "payments", "costs"):
        assert {str(v) for _, v in _column(rows, source, "contract_id")} <= contracts, source
    assert {str(v) for _, v in _column(rows, "contracts", "account_id")} <= accounts
    renews = {str(v) for _, v in _column(rows, "contracts", "renews_contract_id") if v not in (None, "")}
    assert renews and renews <= contracts


# ---- quotas and visits ----------------------------------------------------------------------------
def test_quotas_follow_the_plan(frames: dict) -> None:
    """2025 as yearly rows adding up to the 120M target, 2026 as quarterly rows with the plan's
    back-loaded shape (38M / 42M / 45M / 55M) for the team of January (hires add a ramp quota on top,
    leavers have their later quarters deleted)."""
    q = frames["quotas"]
    sent = q[~q["is_deleted"]]
    first = sent[sent["_file"] == sent["_file"].min()]
    assert first["period"].eq("2025").all() and first["quota_cny"].sum() == pytest.approx(120e6, rel=0.005)
    january = sent[(sent["_file"] == sent.loc[sent["period"] == "2026-Q1", "_file"].min())]
    by_quarter = january.groupby("period")["quota_cny"].sum()
    assert by_quarter.to_dict() == pytest.approx(
        {"2026-Q1": 38e6, "2026-Q2": 42e6, "2026-Q3": 45e6, "2026-Q4": 55e6}, rel=0.005)
    assert (q["quota_cny"] > 0).all() and set(q["period"]) == {"2025", "2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"}
    deleted = q[q["is_deleted"]]
    assert len(deleted) >= 2 and (deleted["_file"] > january["_file"].max()).all()


def test_visit_check_ins_never_move_a_first_touch(frames: dict) -> None:
    """The 2026 check-ins are working-day visits or meetings at customers already touched before:
    every account's earliest activity (a step of the first-touch chain) stays what it was."""
    from bdw.sample import dates as d

    acts = frames["activities"]
    check_in = acts["activity_id"].str.startswith(CHECK_IN)
    ins = acts[check_in]
    assert len(ins) > 5_000 and set(ins["activity_type"]) == {"visit", "meeting"}
    assert (d.weekday(ins["activity_date"].to_numpy()) < 5).all()
    assert (ins["activity_date"] >= d.day("2026-01-01")).all()
    before = acts[~check_in].groupby("account_id")["activity_date"].min()
    assert (ins["activity_date"].to_numpy() > before.reindex(ins["account_id"]).to_numpy()).all()


# ---- the 2025 report, on the generated rows ------------------------------------------------------
@pytest.fixture(scope="module")
def frames() -> dict:
    return world.generate(1, 42, AS_OF)


def test_headline_figures_follow_the_report(frames: dict) -> None:
    """Signed revenue, channel, overseas share, concentration (docs/metrics.md section 3), computed
    from the generated rows with each row converted at its signing month."""
    from bdw.sample import dates as d

    c = frames["contracts"].drop_duplicates("contract_id", keep="last")
    c = c[c["status"] != "cancelled"].set_index("contract_id")
    lines = frames["contract_lines"]
    lines = lines[lines["contract_id"].isin(c.index)]
    fx = frames["fx_rates"].set_index(["month", "currency"])["rate_to_cny"]
    signed = c.loc[lines["contract_id"], "signed_date"].to_numpy()
    ccy = c.loc[lines["contract_id"], "currency"].to_numpy()
    month = d.month_label(d.month(signed))
    rate = np.array([1.0 if k == "CNY" else fx[(m, k)] for m, k in zip(month, ccy, strict=True)])
    cny = lines["amount"].to_numpy() * rate
    year = d.year(signed)
    regions = frames["accounts"].drop_duplicates("account_id").set_index("account_id")["region"]
    account = c.loc[lines["contract_id"], "account_id"].to_numpy()
    channel = c.loc[lines["contract_id"], "channel"].to_numpy()
    y25 = year == 2025
    total = cny[y25].sum()
    assert total == pytest.approx(137e6, rel=0.005)
    assert cny[y25 & (channel == "partner")].sum() == pytest.approx(38e6, rel=0.005)
    assert cny[y25 & (regions.loc[account].to_numpy() != "CN")].sum() / total == pytest.approx(
        0.196, abs=0.005
    )
    per_account = {
        y: np.bincount(np.unique(account[year == y], return_inverse=True)[1], cny[year == y])
        for y in (2024, 2025)
    }
    assert (per_account[2025] >= 5e6).sum() == 14 and (per_account[2024] >= 5e6).sum() == 6
    assert per_account[2025].max() / total == pytest.approx(0.18, abs=0.005)


# ---- battle map 3: the pipeline, renewals, presales, partners (docs/metrics.md sections 3, 8-10) ----
def _contract_cny(frames: dict) -> tuple:
    """Counting contracts (latest export) with their CNY amount and recurring amount (E) at the
    rate of their signing month."""
    from bdw.sample import dates as d

    c = frames["contracts"].sort_values("_file", kind="stable").drop_duplicates("contract_id", keep="last")
    c = c[c["status"] != "cancelled"].set_index("contract_id")
    fx = frames["fx_rates"].drop_duplicates(["month", "currency"], keep="last").set_index(["month", "currency"])
    month = d.month_label(d.month(c["signed_date"].to_numpy()))
    rate = np.array([1.0 if k == "CNY" else fx.loc[(m, k), "rate_to_cny"] for m, k in
                     zip(month, c["currency"], strict=True)])
    lines = frames["contract_lines"]
    recurring = lines[lines["is_recurring"].astype(bool)].groupby("contract_id")["amount"].sum()
    c["e_cny"] = c.index.map(recurring).fillna(0).to_numpy() * rate
    return c, d


def test_the_renewal_base_of_2026_seen_at_the_end_of_2025(frames: dict) -> None:
    """The review's "0.85亿基础订单": E of the counting contracts signed by 2025-12-31 that end in 2026."""
    c, d = _contract_cny(frames)
    ends = c["end_date"].to_numpy()
    due = (ends != d.NONE) & (d.year(np.where(ends == d.NONE, 0, ends)) == 2026)
    base = c.loc[due & (c["signed_date"] <= d.day("2025-12-31")).to_numpy(), "e_cny"].sum()
    assert base == pytest.approx(figures.RENEWAL_BASE_NEXT_YEAR, rel=0.001)


def test_eu_and_na_renewals_of_2026_are_priced_up(frames: dict) -> None:
    """A renewal signed in 2026 of an EU or NA contract renews its recurring amount plus the plan's
    price rise (figures.PRICE_RISE, in CNY, amounts rounded to the currency's tens)."""
    c, d = _contract_cny(frames)
    region = frames["accounts"].drop_duplicates("account_id", keep="last").set_index("account_id")["region"]
    renewals = c[c["renews_contract_id"].notna() & (d.year(c["signed_date"].to_numpy()) == 2026)
                 & c["renews_contract_id"].isin(c.index)]
    renewals = renewals[d.year(c.loc[renewals["renews_contract_id"], "signed_date"].to_numpy()) < 2026]
    for name, (lo, hi) in figures.PRICE_RISE.items():
        mine = renewals[region.reindex(renewals["account_id"]).to_numpy() == name]
        assert len(mine) >= 2, name
        rise = mine["e_cny"].to_numpy() / c.loc[mine["renews_contract_id"], "e_cny"].to_numpy() - 1
        assert ((rise > lo - 0.01) & (rise < hi + 0.01)).all(), (name, rise)


def test_the_pipeline_moves_every_week_of_2026(frames: dict) -> None:
    """Between any two weekly snapshots of 2026 deals are created, won, lost, pushed out and resized."""
    from bdw.sample import dates as d

    snaps = frames["opportunity_snapshots"]
    now = frames["opportunities"].sort_values("_file", kind="stable").drop_duplicates(
        "opportunity_id", keep="last").set_index("opportunity_id")["stage"]
    days = sorted(x for x in snaps["snapshot_date"].unique() if x >= d.day("2026-01-01"))
    assert len(days) >= 40
    for before, after in zip(days, days[1:], strict=False):
        a = snaps[snaps["snapshot_date"] == before].set_index("opportunity_id")
        b = snaps[snaps["snapshot_date"] == after].set_index("opportunity_id")
        gone = now.reindex(a.index.difference(b.index))
        both = a.index.intersection(b.index)
        moved = {
            "created": len(b.index.difference(a.index)),
            "won": int((gone == "closed_won").sum()),
            "lost": int((gone == "closed_lost").sum()),
            "pushed out": int((b.loc[both, "expected_close_date"] > a.loc[both, "expected_close_date"]).sum()),
            "resized": int((b.loc[both, "amount"].fillna(-1) != a.loc[both, "amount"].fillna(-1)).sum()),
        }
        assert min(moved.values()) > 0, (d.iso(np.array([after]))[0], moved)


def test_presales_time_goes_to_consumer_electronics(frames: dict) -> None:
    """About 40% of presales' activities on accounts with an industry are in consumer electronics,
    and none of them moves an account's first touch (they come after the account's first activity)."""
    acts = frames["activities"]
    presales = acts[acts["activity_id"].str.startswith(PRESALES)]
    industry = frames["accounts"].drop_duplicates("account_id", keep="last").set_index("account_id")["industry"]
    known = industry.reindex(presales["account_id"]).dropna()
    assert len(known) > 1_000
    assert (known == figures.PRESALES_FOCUS[0]).mean() == pytest.approx(figures.PRESALES_FOCUS[1], abs=0.03)
    others = acts[~acts["activity_id"].str.startswith((PRESALES, CHECK_IN))]
    first = others.groupby("account_id")["activity_date"].min()
    assert (presales["activity_date"].to_numpy() > first.reindex(presales["account_id"]).to_numpy()).all()


def test_partner_exports_tell_each_quarter_its_own_story(frames: dict) -> None:
    """The channel exports its partners at every quarter end: health scores rise over the years to
    today's, some of today's gold partners were silver before, a certification shows once it happened."""
    p = frames["partners"]
    files = sorted(p["_file"].unique())
    assert len(files) >= 11
    health = p.groupby("_file")["health_score"].mean()
    assert health.iloc[-1] - health.iloc[0] > 4
    gold = p.groupby("_file")["tier"].apply(lambda t: int((t == "gold").sum()))
    assert gold.iloc[-1] > gold.iloc[len(files) // 2]
    certified = p["certified_date"].to_numpy()
    assert (certified[certified >= 0] <= p["_file"].to_numpy()[certified >= 0]).all()
