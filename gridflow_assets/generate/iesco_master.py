"""The IESCO consumer master: everything about a consumer that does not change by month.

Built once per run from the seed: who the consumers are (type, area, feeder, names and
addresses), their meters, their load and payment behaviour, prosumers and thieves. The
monthly ``meters.csv`` is this master as of the month (:func:`meters_snapshot`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from gridflow_assets.domain import tariff
from gridflow_assets.generate.iesco_data import (
    CONSUMER_SCALE_SD,
    CONSUMER_STATUS,
    EARLIEST_CONNECTION,
    FEMALE_CONSUMER_SHARE,
    LAST_INSTALLATION,
    METER_COLUMNS,
    METER_MAKES,
    PAYER_CLASSES,
    PROSUMER_SHARE,
    SMART_METER_ROLLOUT,
    SOLAR_PERFORMANCE_RATIO,
    WARRANTY_DAYS,
    choice_by_weight,
    dates,
    fault_count,
    stream,
    tables,
)


@dataclass
class Master:
    """Everything about the consumers that does not change from month to month."""

    n: int
    seed: int
    level: int
    table: pd.DataFrame  # meters.csv columns except last_maintenance_date
    profile: np.ndarray  # row in the profiles table
    district: np.ndarray  # index into districts
    feeder: np.ndarray  # global feeder index
    feeder_shedding: np.ndarray  # scheduled load-shedding hours per day, per feeder
    feeder_voltage: np.ndarray  # per-feeder voltage level factor
    feeder_rural: np.ndarray
    phases: np.ndarray
    scale: np.ndarray  # kWh/day at season factor 1
    pf_base: np.ndarray
    active: np.ndarray
    prosumer: np.ndarray
    solar_kwp: np.ndarray
    thief: np.ndarray
    tamper_factor: np.ndarray
    tamper_start: np.ndarray  # month ordinal (year * 12 + month - 1)
    reg0_wh: np.ndarray  # register at the epoch month's start
    protected: np.ndarray
    lifeline: np.ndarray
    tv_fee: np.ndarray
    payer_class: np.ndarray
    batch: np.ndarray
    installed: np.ndarray  # datetime64[D]
    maintenance_days: np.ndarray


def epoch_ordinal() -> int:
    first = tariff.earliest_effective_date()
    return first.year * 12 + first.month - 1


def build_master(n: int, seed: int, level: int) -> Master:
    data = tables()
    types, areas, districts, profiles = data.types, data.areas, data.districts, data.profiles
    rng = stream(seed, "master")

    weights = areas["consumer_weight"].to_numpy(float)
    area = rng.choice(len(areas), size=n, p=weights / weights.sum())
    area_type = areas["area_type"].to_numpy(object)[area]
    u = rng.random(n)
    ctype = np.zeros(n, dtype=int)
    for kind in ("urban", "peri_urban", "rural"):
        w = types[f"weight_{kind}"].to_numpy(float)
        rows = area_type == kind
        cdf = np.cumsum(w) / w.sum()
        ctype[rows] = np.minimum(np.searchsorted(cdf, u[rows], side="right"), len(w) - 1)
    t = types.iloc[ctype].reset_index(drop=True)
    a = areas.iloc[area].reset_index(drop=True)

    localities = [s.split("|") for s in areas["localities"]]
    n_feeders = areas["feeders"].to_numpy(int)
    feeder_offset = np.concatenate([[0], np.cumsum(n_feeders)[:-1]])
    locality = np.floor(rng.random(n) * np.array([len(localities[i]) for i in area])).astype(int)
    feeder = feeder_offset[area] + locality % n_feeders[area]
    feeder_area = np.repeat(np.arange(len(areas)), n_feeders)
    feeder_names = np.array(
        [f"{localities[i][k]} 11kV Feeder" for i in range(len(areas)) for k in range(n_feeders[i])],
        dtype=object,
    )
    feeder_rural = areas["area_type"].to_numpy(object)[feeder_area] == "rural"
    feeder_shedding = areas["shedding_hours_per_day"].to_numpy(float)[feeder_area] * rng.uniform(
        0.6, 1.4, len(feeder_area)
    )
    feeder_voltage = np.where(
        feeder_rural,
        rng.uniform(0.92, 1.0, len(feeder_area)),
        rng.uniform(0.96, 1.03, len(feeder_area)),
    )

    district_pos = {d: i for i, d in enumerate(districts["district"])}
    district = np.array([district_pos[d] for d in a["district"]], dtype=int)
    box = districts.iloc[district].reset_index(drop=True)
    spread = a["spread_deg"].to_numpy(float)
    lat = a["latitude"].to_numpy(float) + np.clip(rng.normal(0, 1, n), -3, 3) * spread
    lon = a["longitude"].to_numpy(float) + np.clip(rng.normal(0, 1, n), -3, 3) * spread
    lat = np.clip(lat, box["lat_min"].to_numpy(float), box["lat_max"].to_numpy(float)).round(6)
    lon = np.clip(lon, box["lon_min"].to_numpy(float), box["lon_max"].to_numpy(float)).round(6)

    meter_numbers = (10**10 + rng.choice(9 * 10**10, size=n, replace=False)).astype(str)
    accounts = 10**6 + rng.choice(9 * 10**6, size=n, replace=False)
    consumer_ids = 10**8 + rng.choice(9 * 10**8, size=n, replace=False)
    batch = rng.integers(1, 21, n)
    suffix = np.where(area_type == "rural", "R", "U")
    reference = [
        f"{b:02d} {code} {acc} {s}"
        for b, code, acc, s in zip(batch, a["subdiv_code"], accounts, suffix, strict=False)
    ]

    male, female, surnames = (
        data.names["male_first"],
        data.names["female_first"],
        data.names["surname"],
    )
    female_pick = rng.random(n) < FEMALE_CONSUMER_SHARE
    first = np.where(
        female_pick, female[rng.integers(0, len(female), n)], male[rng.integers(0, len(male), n)]
    )
    surname = surnames[rng.integers(0, len(surnames), n)]
    father = male[rng.integers(0, len(male), n)] + " " + surname
    person = first + " " + surname
    loc_name = np.array(
        [localities[i][k] for i, k in zip(area, locality, strict=False)], dtype=object
    )
    city = a["city"].to_numpy(object)
    style = t["name_style"].to_numpy(object)
    names = np.array(
        [
            tpl.format(person=p, surname=s, locality=lc, city=c)
            for tpl, p, s, lc, c in zip(
                t["name_template"], person, surname, loc_name, city, strict=False
            )
        ],
        dtype=object,
    )
    father = np.where(style == "person", father, "")
    house = rng.integers(1, 1200, n)
    street = rng.integers(1, 60, n)
    district_title = box["title"].to_numpy(object)
    address_style = np.where(style == "person", a["address_style"].to_numpy(object), "plot")
    address = np.array(
        [
            f"House No. {h}, Street {s}, {lc}, {c}"
            if st == "sector"
            else f"House No. {h}, Mohallah {lc}, {c}"
            if st == "mohallah"
            else f"Village {lc}, Tehsil {c}, District {d}"
            if st == "village"
            else f"Plot No. {h}, {lc}, {c}"
            for st, h, s, lc, c, d in zip(
                address_style, house, street, loc_name, city, district_title, strict=False
            )
        ],
        dtype=object,
    )

    sanctioned = rng.uniform(t["load_kw_min"], t["load_kw_max"]).round(1)
    connected = (sanctioned * rng.uniform(0.8, 1.25, n)).round(2)
    phases = t["phases"].to_numpy(int)
    pf_base = rng.uniform(t["pf_min"], t["pf_max"])
    scale = t["scale_kwh_day"].to_numpy(float) * np.exp(
        rng.normal(0, CONSUMER_SCALE_SD, n) - CONSUMER_SCALE_SD**2 / 2
    )
    status = choice_by_weight(rng, CONSUMER_STATUS, n)
    active = status == "Active"
    tv_fee = rng.random(n) < t["tv_fee_share"].to_numpy(float)
    payer_keys = list(PAYER_CLASSES)
    payer_class = rng.choice(len(payer_keys), size=n, p=[PAYER_CLASSES[k][0] for k in payer_keys])

    day = np.timedelta64(1, "D")
    connection = np.datetime64(EARLIEST_CONNECTION) + rng.integers(0, 12_000, n) * day
    smart_era = np.maximum(connection, np.datetime64(SMART_METER_ROLLOUT))
    span = (np.datetime64(LAST_INSTALLATION) - smart_era) / day
    installed = smart_era + np.floor(rng.random(n) * span).astype(int) * day
    warranty = installed + WARRANTY_DAYS * day
    maintenance_days = rng.choice([180, 365, 730], size=n)
    make = choice_by_weight(rng, METER_MAKES, n)

    profile = np.array([profiles.index.get_loc(name) for name in t["profile"]], dtype=int)
    cooling = profiles["cooling_sensitivity"].to_numpy(float)[profile]
    epoch = np.datetime64(tariff.earliest_effective_date().isoformat(), "D")
    months_installed = (epoch - installed) / day / 30.44
    reg0_wh = np.rint(
        (
            scale * 30.44 * (1 + 0.4 * cooling) * months_installed * rng.uniform(0.8, 1.2, n)
            + rng.uniform(50, 500, n)
        )
        * 1000
    ).astype(np.int64)

    # Prosumers and thieves come from their own streams so that changing the fault level
    # never changes anybody else's data.
    prng = stream(seed, "prosumers")
    eligible = np.flatnonzero((t["prosumer_eligible"].to_numpy(int) == 1) & active)
    prosumer = np.zeros(n, dtype=bool)
    ratio = prng.uniform(0.4, 0.8, n)
    if len(eligible):
        count = min(len(eligible), max(1, round(PROSUMER_SHARE * n)))
        prosumer[prng.permutation(eligible)[:count]] = True
    mean_psh = data.climate["solar_psh"].mean()
    solar_kwp = np.where(
        prosumer,
        np.maximum(
            1.0,
            np.round(2 * ratio * scale * (1 + 0.4 * cooling) / (mean_psh * SOLAR_PERFORMANCE_RATIO))
            / 2,
        ),
        0.0,
    )

    trng = stream(seed, "tamper")
    candidates = trng.permutation(np.flatnonzero(active & ~prosumer))
    tamper_factor = trng.uniform(0.15, 0.35, n)
    tamper_start = epoch_ordinal() + trng.integers(-6, 12, n)
    thief = np.zeros(n, dtype=bool)
    thief[candidates[: fault_count("tamper_consumers", n, level)]] = True

    meter_type = np.where(phases == 1, "AMI Single Phase", "AMI Three Phase").astype(object)
    meter_type[sanctioned > 70] = "AMI CT-Operated"
    meter_type[prosumer] = "AMI Bidirectional (Net Metering)"

    table = pd.DataFrame(
        {
            "consumer_id": [f"C{c}" for c in consumer_ids],
            "meter_number": meter_numbers,
            "reference_no": reference,
            "name": names,
            "father_name": father,
            "address": address,
            "tariff_category": t["tariff_category"].to_numpy(object),
            "connection_date": dates(connection),
            "connected_load_kw": connected,
            "division": a["division"].to_numpy(object),
            "sub_division": a["sub_division"].to_numpy(object),
            "feeder_name": feeder_names[feeder],
            "phase_type": np.where(phases == 1, "Single Phase", "Three Phase"),
            "meter_type": meter_type,
            "meter_make": make,
            "installation_date": dates(installed),
            "warranty_expiry": dates(warranty),
            "last_maintenance_date": "",
            "latitude": lat,
            "longitude": lon,
            "status": status,
            "sanctioned_load_kw": sanctioned,
            "consumer_type": t["consumer_type"].to_numpy(object),
            "district": a["district"].to_numpy(object),
        }
    )
    return Master(
        n=n,
        seed=seed,
        level=level,
        table=table,
        profile=profile,
        district=district,
        feeder=feeder,
        feeder_shedding=feeder_shedding,
        feeder_voltage=feeder_voltage,
        feeder_rural=feeder_rural,
        phases=phases,
        scale=scale,
        pf_base=pf_base,
        active=active,
        prosumer=prosumer,
        solar_kwp=solar_kwp,
        thief=thief,
        tamper_factor=tamper_factor,
        tamper_start=tamper_start,
        reg0_wh=reg0_wh,
        protected=t["protected"].to_numpy(int) == 1,
        lifeline=t["lifeline"].to_numpy(int) == 1,
        tv_fee=tv_fee,
        payer_class=payer_class,
        batch=batch,
        installed=installed,
        maintenance_days=maintenance_days,
    )


def meters_snapshot(master: Master, year: int, month: int) -> pd.DataFrame:
    """meters.csv as of the month: last maintenance is the latest visit before month end."""
    start = pd.Timestamp(year=year, month=month, day=1)
    month_end = (start + pd.offsets.MonthEnd(0)).to_datetime64().astype("datetime64[D]")
    day = np.timedelta64(1, "D")
    visits = ((month_end - master.installed) / day // master.maintenance_days).astype(int)
    last = master.installed + visits * master.maintenance_days * day
    last = np.where(visits > 0, last, np.datetime64("NaT"))
    meters = master.table.copy()
    meters["last_maintenance_date"] = dates(last.astype("datetime64[D]"))
    return meters[list(METER_COLUMNS)]
