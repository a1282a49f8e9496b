"""Names for the synthetic demo: Vietnamese mountain-style place names with diacritics.

Names are drawn from syllable pools in three styles: highland (Mông, Dao: "Sín Chải",
"Nàn Sán"), valley (Tày, Thái: "Nậm Chảy", "Mường Hum") and Kinh (towns: "Tân Phúc").
Remote units take highland names, valley and town units the others, so a newcomer
sees names that sound like Lào Cai or Lai Châu without any being a real unit.
"""

from __future__ import annotations

import numpy as np

__all__ = ["HIGHLAND", "VALLEY", "KINH", "NameMaker", "village_prefix", "province_names"]

HIGHLAND = (
    "Tả", "Lùng", "Nàn", "Sín", "Phìn", "Chải", "Sán", "Thẩn", "Sảng", "Cán", "Mản", "Lử",
    "Sui", "Cấu", "Chéng", "Mế", "Thào", "Chư", "Quan", "Hồ", "Tung", "Chung", "Chù", "Lìn",
    "Pả", "Dìn", "Sì", "Ma", "Pao", "Giàng", "Seo", "Mào", "Xín", "Mần", "Lao", "Phàng",
    "Lũng", "Pù", "Hua", "Ngài", "Tủng", "Sáng", "Dền", "Vành", "Chồ", "Tỷ", "Hầu", "Thàng",
    "Xà", "Mý", "Sủng", "Khấu", "Páo", "Cang", "Chảng", "Phừ", "Lầu", "Sừ", "Dì", "Sảo",
)
VALLEY = (
    "Mường", "Nậm", "Pắc", "Khe", "Bản", "Cốc", "Na", "Nà", "Phiêng", "Huổi", "Pác", "Ta",
    "Hum", "Chảy", "Lếch", "Ly", "Mòn", "Xá", "Pom", "Phai", "Lạn", "Kim", "Tấu", "Luông",
    "Lóng", "Lìu", "Tòng", "Vai", "Sâm", "Xe", "Khoang", "Pằng", "Bó", "Ún", "Thàn", "Lềnh",
    "Sái", "Hỏm", "Tà", "Mít", "Pạc", "Ngòi", "Vược", "Cuông", "Quài", "Hon", "Lay", "Bum",
)
KINH = (
    "Tân", "Phúc", "Bình", "Minh", "An", "Hòa", "Thịnh", "Hưng", "Xuân", "Phú", "Lộc",
    "Thành", "Yên", "Sơn", "Thanh", "Trung", "Nam", "Bắc", "Đông", "Kim", "Quang", "Thắng",
    "Lợi", "Tiến", "Vinh", "Long", "Hải", "Cường", "Hồng", "Gia", "Nghĩa", "Lương", "Khánh",
    "Bảo", "Thái", "Phong", "Lâm", "Văn", "Đức", "Hợp", "Tường", "Nhạc", "Vĩnh", "Quý",
)
_STYLES = {"highland": HIGHLAND, "valley": VALLEY, "kinh": KINH}

# Syllables that read as a Tày/Thái valley settlement: such villages are "Bản …".
_BAN_STARTS = {"Mường", "Nậm", "Pắc", "Na", "Nà", "Phiêng", "Huổi", "Pác", "Bản", "Tà"}

_PROVINCE_FIRST = ("Sơn", "Vân", "Thượng", "Ngọc", "Bạch", "Hồng", "Tân", "Phúc", "Kim",
                   "Thanh", "Đài", "Lĩnh", "Hà", "Cẩm", "Trường", "Tuyết", "Mai", "Lạc")
_PROVINCE_SECOND = ("Cước", "Lĩnh", "Nguyên", "Đài", "Phong", "Lâm", "Điền", "Xuyên",
                    "Châu", "Thủy", "Vân", "Dương", "Khê", "Sơn", "Hà", "Trạch", "Mộc")
_REAL_PROVINCES = {
    "Hà Giang", "Lai Châu", "Sơn La", "Yên Bái", "Hòa Bình", "Bắc Giang", "Quảng Nam",
    "Bình Định", "Phú Yên", "Khánh Hòa", "Ninh Bình", "Bình Phước", "Long An", "Tây Ninh",
    "Vĩnh Long", "Hậu Giang", "Kiên Giang", "An Giang", "Thái Bình", "Nam Định", "Hà Nam",
    "Bắc Ninh", "Thái Nguyên", "Tuyên Quang", "Cao Bằng", "Lạng Sơn", "Quảng Ninh", "Phú Thọ",
    "Vĩnh Phúc", "Hải Dương", "Hưng Yên", "Thanh Hóa", "Nghệ An", "Hà Tĩnh", "Quảng Bình",
    "Quảng Trị", "Quảng Ngãi", "Gia Lai", "Kon Tum", "Đắk Lắk", "Đắk Nông", "Lâm Đồng",
    "Bình Thuận", "Ninh Thuận", "Đồng Nai", "Bình Dương", "Tiền Giang", "Bến Tre", "Trà Vinh",
    "Đồng Tháp", "Cần Thơ", "Sóc Trăng", "Bạc Liêu", "Cà Mau", "Điện Biên", "Lào Cai",
    "Bắc Kạn", "Hải Phòng", "Đà Nẵng", "Hà Nội", "Thanh Thủy", "Kim Sơn",
}


def village_prefix(name: str) -> str:
    """Unit-type code of a rural village: 'ban' for Tày/Thái valley names, else 'thon'."""
    return "ban" if name.split(" ", 1)[0] in _BAN_STARTS else "thon"


def province_names(count: int) -> list[str]:
    """Names of the synthetic provinces: "Sơn Cước" first, then others, none real."""
    names = ["Sơn Cước"]
    pairs = [(i, j) for i in range(len(_PROVINCE_FIRST)) for j in range(len(_PROVINCE_SECOND))]
    pairs.sort(key=lambda p: ((7 * p[0] + 5 * p[1]) % 17, p))  # a fixed, well-mixed order
    for i, j in pairs:
        first, second = _PROVINCE_FIRST[i], _PROVINCE_SECOND[j]
        name = f"{first} {second}"
        if first != second and name not in _REAL_PROVINCES and name not in names:
            names.append(name)
    if count > len(names):
        raise ValueError(f"cannot name {count} demo provinces; at most {len(names)}")
    return names[:count]


class NameMaker:
    """Draws names that are unique within one scope (a district, or a commune).

    Parameters
    ----------
    rng
        The build's generator, so names follow the seed.
    taken
        Names already used in the scope (they will not be drawn again).
    """

    def __init__(self, rng: np.random.Generator, taken: set[str] | None = None):
        self.rng = rng
        self.taken: set[str] = set(taken or ())

    def draw(self, style: str, *, three: float = 0.08) -> str:
        """One new name in ``style`` ('highland', 'valley', 'kinh'); 3 syllables sometimes."""
        pool = _STYLES[style]
        for attempt in range(200):
            n = 3 if self.rng.random() < three else 2
            idx = self.rng.choice(len(pool), size=n, replace=False)
            if style != "kinh" and self.rng.random() < 0.25:
                # mix in one syllable of another style, as real names do ("Bản Mế")
                other = _STYLES["valley" if style == "highland" else "highland"]
                parts = [pool[i] for i in idx]
                parts[int(self.rng.integers(n))] = other[int(self.rng.integers(len(other)))]
            else:
                parts = [pool[i] for i in idx]
            name = " ".join(parts)
            if len(set(parts)) == n and name not in self.taken:
                self.taken.add(name)
                return name
        raise RuntimeError(f"could not draw a new {style} name after 200 attempts")

    def merged(self, first: str, second: str) -> str:
        """Name of a commune formed by merging two: "Lử Thẩn" + "Lùng Sui" -> "Lùng Thẩn"."""
        a, b = first.split(" "), second.split(" ")
        for name in (f"{b[0]} {a[-1]}", f"{a[0]} {b[-1]}", f"{a[0]} {' '.join(b[1:])}"):
            if name not in self.taken and len(set(name.split(" "))) == len(name.split(" ")):
                self.taken.add(name)
                return name
        return self.draw("highland")
