"""Recognitions, targets and annual plans of the synthetic demo province.

All follow from the status history: a commune is recognised the year it first meets all
19 criteria (baseline communes in 2016-2020); targets copy the shape of the seeds'
directives (Lai Châu 2024, Lào Cai 2021, Si Ma Cai 2024); plans list, per commune and
year, the criteria to achieve (mostly, not always, those then gained) and to maintain.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._demo_admin import MERGER_ACT, MERGER_DATE

__all__ = ["recognitions", "targets", "plans"]

SET_318 = "qd318-2022-xa-ntm"
SET_NC = "qd318-2022-xa-ntm-nang-cao"


def _ts(day: str) -> str:
    return f"{day}T00:00:00.000Z"


def _decision(rng, year: int, kind: str = "QĐ-UBND", months=(10, 12)) -> tuple[str, str]:
    month = int(rng.integers(months[0], months[1] + 1))
    return f"QĐ {int(rng.integers(100, 3500))}/{kind}", f"{year}-{month:02d}-{int(rng.integers(1, 29)):02d}"


def recognitions(units: pd.DataFrame, admin, merger, model, rng) -> pd.DataFrame:
    """Recognitions of communes, villages and districts.

    ``units`` is the unit-year frame (code, commune, model, year, start, end); ``model``
    the CriteriaModel (rows = xã in ``admin.communes`` order of ``_model``).
    """
    rows = []
    province = admin.province["name"][0]
    com = admin.communes
    xa = np.flatnonzero(com["_model"].to_numpy() >= 0)
    parts = set(merger.parts) if merger else set()

    def add(code, level, unit_level, year, issuer, number=None, day=None, set_id=None, note=None, valid_until=None):
        if day is None:
            number, day = _decision(rng, year, "QĐ-TTg" if issuer == "Thủ tướng Chính phủ" else "QĐ-UBND")
        rows.append(dict(unit_code=code, unit_level=unit_level, level=level, year=int(year), decision_number=number,
                         decision_date=day, issued_by=issuer, valid_until=valid_until, set_id=set_id,
                         revoked=False, note=note, recorded_at=_ts(day)))

    issuer = f"UBND tỉnh {province}"
    rec_year = np.zeros(len(com), dtype=int)
    c_code, c_model = com["code"].to_numpy(), com["_model"].to_numpy()
    for i in xa:
        y = int(model.recognised_year[c_model[i]])
        if y == 0 or (i in parts and y >= 2025):
            continue
        rec_year[i] = y
        note = "Công nhận theo Bộ tiêu chí giai đoạn 2016-2020 (QĐ 1980/QĐ-TTg)" if y <= 2020 else None
        add(c_code[i], "dat_chuan", "commune", y, issuer, set_id=SET_318 if y >= 2022 else None, note=note)
    if merger:
        i, j = merger.parts
        if rec_year[i] and rec_year[j]:
            add(merger.code, "dat_chuan", "commune", max(rec_year[i], rec_year[j]), issuer, number=None,
                day=MERGER_DATE, set_id=SET_318,
                note=(f"Xã mới sáp nhập từ xã {com['name'][i]} ({rec_year[i]}) và xã {com['name'][j]} "
                      f"({rec_year[j]}) đều đã đạt chuẩn: kế thừa kết quả theo CV 3372/BNN-VPĐP"))
        else:
            row = units[(units["code"] == merger.code) & (units["year"] == 2025)]
            if len(row) and row["end"].iloc[0].all():
                add(merger.code, "dat_chuan", "commune", 2025, issuer, set_id=SET_318)
    # nâng cao and kiểu mẫu: the strongest early-recognised communes
    score = np.full(len(com), -np.inf)
    score[xa] = model.score[com["_model"].to_numpy()[xa]]
    at_risk = np.zeros(len(com), dtype=bool)
    at_risk[xa] = model.at_risk[com["_model"].to_numpy()[xa]]
    cand = [i for i in np.argsort(-score) if 0 < rec_year[i] <= 2022 and not at_risk[i] and i not in parts]
    n_nc = max(1, round(0.05 * len(xa)))
    nang_cao = []
    for i in cand[:n_nc]:
        y = min(2025, max(2023, rec_year[i] + 2) + int(rng.integers(0, 2)))
        add(com["code"][i], "nang_cao", "commune", y, issuer, set_id=SET_NC)
        nang_cao.append((y, i))
    for y, i in sorted(nang_cao)[: 1 if len(xa) < 150 else 2]:
        add(com["code"][i], "kieu_mau", "commune", min(y + 1, 2025), issuer,
            note="Xã NTM kiểu mẫu theo QĐ 319/QĐ-TTg (lĩnh vực nổi trội: sản xuất)")
    c_district = com["_district"].to_numpy()
    # districts: the city completed the NTM task; a rural district only if all its xã are recognised
    for k, d in admin.districts.iterrows():
        if d["unit_type"] == "thanh_pho":
            add(d["code"], "hoan_thanh", "district", int(rng.choice([2019, 2020])), "Thủ tướng Chính phủ")
        else:
            members = [i for i in xa if c_district[i] == k and i not in parts]
            if members and all(0 < rec_year[i] <= 2024 for i in members):
                add(d["code"], "dat_chuan", "district", 2025, "Thủ tướng Chính phủ")
    rows += _village_recognitions(admin, merger, score, rec_year, rng)
    return pd.DataFrame(rows)


def _village_recognitions(admin, merger, score, rec_year, rng) -> list[dict]:
    """Thôn NTM and thôn kiểu mẫu, decided by the district chairman (fewer in ĐBKK)."""
    v = admin.villages
    com = admin.communes
    c = v["_commune"].to_numpy()
    rural = v["unit_type"].isin(["thon", "ban"]).to_numpy() & (com["_model"].to_numpy()[c] >= 0)
    s = score[c]
    finite = np.isfinite(s)
    z = np.zeros(len(v))
    z[finite] = (s[finite] - s[finite].mean()) / (s[finite].std() + 1e-9)
    ed = v["extremely_difficult"].to_numpy()
    p = np.clip(0.33 + 0.15 * z - 0.08 * ed, 0.05, 0.9)
    chosen = rural & (rng.random(len(v)) < p)
    years = rng.choice([2021, 2022, 2023, 2024, 2025], len(v), p=[0.12, 0.18, 0.22, 0.24, 0.24])
    new_code = {}
    if merger:
        new_code = dict(zip(merger.villages, merger.village_codes))
    rows = []
    district_names = admin.districts["name"].to_numpy()[com["_district"].to_numpy()[c]]
    v_code = v["code"].to_numpy()
    for idx in np.flatnonzero(chosen):
        levels = [("dat_chuan", int(years[idx]))]
        if not ed[idx] and z[idx] > 0 and years[idx] <= 2024 and rng.random() < 0.25:
            levels.append(("kieu_mau", int(rng.integers(years[idx] + 1, 2026))))
        for level, year in levels:
            number, day = _decision(rng, year)
            until = f"{year + 5}{day[4:]}"
            base = dict(unit_level="village", level=level, year=year, decision_number=number, decision_date=day,
                        issued_by=f"Chủ tịch UBND huyện {district_names[idx]}", valid_until=until, set_id=None,
                        revoked=False, recorded_at=_ts(day))
            moved = idx in new_code
            if not moved or year < 2025:
                rows.append(dict(base, unit_code=v_code[idx], note=None))
            if moved:
                note = f"Thôn thuộc xã mới sau sáp nhập ({MERGER_ACT}); mã cũ {v_code[idx]}" if year < 2025 else None
                rows.append(dict(base, unit_code=new_code[idx], note=note))
    return rows


def targets(admin, units: pd.DataFrame, recs: pd.DataFrame, plan_rows: pd.DataFrame, rng) -> pd.DataFrame:
    """Province targets for 2025 (Lai Châu / Lào Cai style) and district targets for 2024 (Si Ma Cai).

    ``baseline_year`` follows ``layers.targets``: absent for levels to reach ("17,3 tiêu
    chí/xã"), set where the target is a change ("thêm 5 thôn" = villages_dat_chuan with
    baseline 2023; +1-1,5 criteria per xã and year since 2021).
    """
    prov = admin.province["code"][0]
    pname = admin.province["name"][0]
    n_xa = int((units["year"] == 2025).sum())
    rural = admin.districts[admin.districts["unit_type"] == "huyen"]
    city = admin.districts[admin.districts["unit_type"] == "thanh_pho"]
    doc = f"Kế hoạch số 45/KH-UBND ngày 15/3/2021 của UBND tỉnh {pname} (dữ liệu mẫu)"
    rows = []

    def add(scope, metric, year, value, *, baseline=None, value_max=None, each_child=False, source=doc,
            note=None, set_id=SET_318, day="2021-03-15"):
        rows.append(dict(scope_code=scope, metric=metric, target_year=year, baseline_year=baseline,
                         value=float(value), value_max=value_max, threshold=None, set_id=set_id,
                         each_child=each_child, source_document=source, note=note, recorded_at=_ts(day)))

    goal = round(0.57 * n_xa)
    add(prov, "communes_dat_chuan", 2025, goal, note=f"Phấn đấu đến hết năm 2025 có {goal}/{n_xa} xã đạt chuẩn NTM")
    add(prov, "communes_nang_cao", 2025, max(1, round(0.06 * n_xa)), set_id=SET_NC)
    add(prov, "communes_kieu_mau", 2025, max(1, round(0.015 * n_xa)), set_id=None)
    add(prov, "avg_criteria_per_commune", 2025, 17.3, note="Bình quân 17,3 tiêu chí/xã")
    add(prov, "min_criteria_per_commune", 2025, 15, note="Không còn xã dưới 15 tiêu chí")
    add(prov, "share_villages_dat_chuan_edk", 2025, 0.25, set_id=None,
        note="25% số thôn, bản thuộc xã đặc biệt khó khăn đạt chuẩn NTM")
    add(prov, "districts_dat_chuan", 2025, len(city) + max(1, round(0.25 * len(rural))), set_id=None,
        note="Thành phố giữ vững kết quả, thêm huyện đạt chuẩn NTM")
    add(prov, "criteria_gain_per_commune_per_year", 2025, 1, value_max=1.5, each_child=True, baseline=2021,
        note="Mỗi huyện bình quân tăng 1-1,5 tiêu chí/xã/năm")
    for code in city["code"]:
        add(code, "recognised_hoan_thanh", 2025, 1, set_id=None, note="Giữ vững kết quả hoàn thành nhiệm vụ xây dựng NTM")
    # district plans for 2024
    y23 = units[units["year"] == 2023]
    y24 = units[units["year"] == 2024]
    village_rec = recs[(recs["unit_level"] == "village")]
    vill_district = dict(zip(admin.villages["code"], admin.villages["_commune"].map(admin.communes["_district"])))
    recognised = set(recs.loc[(recs["unit_level"] == "commune") & (recs["level"] == "dat_chuan")
                              & (recs["year"] <= 2023), "unit_code"])
    for k, d in rural.iterrows():
        doc_d = f"Kế hoạch số {int(rng.integers(10, 250))}/KH-UBND năm 2024 của UBND huyện {d['name']} (dữ liệu mẫu)"
        kw = dict(source=doc_d, day="2024-01-20")
        mine23 = y23[y23["district"] == k]
        mine24 = y24[y24["district"] == k]
        if not len(mine24):
            continue
        planned = plan_rows[(plan_rows["year"] == 2024) & (plan_rows["action"] == "achieve")
                            & plan_rows["unit_code"].isin(mine24["code"])]
        total = int(sum(e.sum() for e in mine23["end"])) + len(planned)
        add(d["code"], "total_criteria", 2024, total, **kw)
        add(d["code"], "avg_criteria_per_commune", 2024, round(total / len(mine24), 2), **kw)
        add(d["code"], "criteria_gained", 2024, len(planned), baseline=2023,
            note=f"Hoàn thành thêm {len(planned)} tiêu chí", **kw)
        in_d = village_rec["unit_code"].map(vill_district) == k
        for level, metric, word in (("dat_chuan", "villages_dat_chuan", "thôn NTM"),
                                    ("kieu_mau", "villages_kieu_mau", "thôn NTM kiểu mẫu")):
            new = int(((village_rec["level"] == level) & in_d & (village_rec["year"] == 2024)).sum())
            goal = max(1, new + int(rng.integers(-1, 2)))
            add(d["code"], metric, 2024, goal, baseline=2023, set_id=None,
                note=f"Thêm {goal} {word} trong năm 2024", **kw)
        for code in mine24["code"]:
            if code in recognised:
                add(code, "recognised_dat_chuan", 2024, 1, note="Duy trì, nâng chất xã đạt chuẩn NTM", **kw)
    return pd.DataFrame(rows)


def plans(units: pd.DataFrame, district_names, rng) -> pd.DataFrame:
    """Annual plans 2022-2025: criteria to achieve and, in recognised communes, to maintain."""
    rows = []
    numbers = {}
    for rec in units[units["year"].between(2022, 2025)].itertuples(index=False):
        key = (rec.district, rec.year)
        numbers.setdefault(key, int(rng.integers(10, 250)))
        doc = f"Kế hoạch số {numbers[key]}/KH-UBND huyện {district_names[rec.district]} năm {rec.year} (mẫu)"
        unmet = np.flatnonzero(~rec.start)
        gained = np.flatnonzero(rec.end & ~rec.start)
        achieve = [c for c in gained if rng.random() < 0.85][:5]
        rest = [c for c in unmet if c not in gained]
        extra = int(rng.integers(1, 3)) if not achieve else int(rng.random() < 0.3)
        if rest and extra and len(achieve) < 5:  # planned but missed
            achieve += list(rng.choice(rest, min(len(rest), extra, 5 - len(achieve)), replace=False))
        actions = [(c, "achieve") for c in sorted(achieve)]
        if rec.recognised:
            actions += [(c, "maintain") for c in np.flatnonzero(rec.start)]
        for c, action in actions:
            rows.append((rec.code, rec.year, SET_318, int(c) + 1, action, doc, "demo", _ts(f"{rec.year}-01-20")))
    return pd.DataFrame(rows, columns=["unit_code", "year", "set_id", "criterion", "action", "document",
                                       "recorded_by", "recorded_at"])
