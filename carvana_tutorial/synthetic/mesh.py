"""A smoothed polygon 3-D car built from a :class:`~.scene.Car`.

The body is *lofted*: a cross-section (floor pan, rounded flanks, shoulder,
greenhouse, roof) is swept from tail to nose along 72 stations, denser at the
ends, with heights that follow the car's side profile, smoothed along the car so
that bumpers, hood, windshield and roof flow into each other, and corners
rounded in plan view; one recipe gives sedans, coupes, hatchbacks, SUVs, vans
and pickups.  The lowest band of the flanks and the bottom of both ends (sills,
valance, diffuser) are black plastic on about half of the cars.  Wheels are
short cylinders with a rim and spokes, mirrors are boxes.  Each
polygon carries a material and, for decals such as headlights or spokes, the
polygon it is painted on, so the renderer can draw it right after its parent.
Everything is built once per car in numpy; each view only rotates it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from .scene import Car

#: Vertices per polygon; shorter polygons repeat their last vertex.
MAX_VERTICES = 24
WHEEL_SEGMENTS = 24


class Material(IntEnum):
    PAINT = 0
    GLASS = 1
    TRIM = 2  # mirrors, pillars: body colour or black plastic
    RUBBER = 3
    RIM = 4
    HOLE = 5  # the dark gaps between spokes, wheel wells, grille
    HEADLIGHT = 6
    TAILLIGHT = 7
    PLATE = 8
    UNDER = 9
    LOWER = 10  # sills and lower bumpers: black plastic on many cars, else paint


@dataclass(frozen=True)
class Mesh:
    """Polygons of one car in car coordinates (metres; x forward, y up)."""

    vertices: np.ndarray  # (N, MAX_VERTICES, 3)
    counts: np.ndarray  # (N,) real vertex count of each polygon
    normals: np.ndarray  # (N, 3) outward unit normals
    centroids: np.ndarray  # (N, 3)
    materials: np.ndarray  # (N,) Material values
    parents: np.ndarray  # (N,) index of the polygon a decal sits on (itself otherwise)
    layers: np.ndarray  # (N,) drawing order among a parent's decals
    two_sided: np.ndarray  # (N,) never culled
    antenna: np.ndarray  # (2, 3) mast base and tip, or (0, 3)
    seams: np.ndarray  # (n, 3, 3) door gaps as polylines on the flanks
    handles: np.ndarray  # (n, 4, 3) door handles
    line_sides: (
        np.ndarray
    )  # (n,) +1 right flank, -1 left: drawn only when that flank faces the camera


class _Builder:
    def __init__(self) -> None:
        self.parts: list[dict[str, np.ndarray]] = []
        self.size = 0

    def add(
        self,
        polys: np.ndarray,
        material: int | np.ndarray,
        outward_from: np.ndarray | None = None,
        normal: np.ndarray | None = None,
        parent: np.ndarray | None = None,
        layer: int = 0,
        two_sided: bool = False,
    ) -> np.ndarray:
        """Add polygons (n, k, 3); orient normals away from ``outward_from``."""
        polys = np.asarray(polys, dtype=np.float64)
        n, k, _ = polys.shape
        padded = np.concatenate([polys, np.repeat(polys[:, -1:], MAX_VERTICES - k, axis=1)], axis=1)
        centroids = polys.mean(axis=1)
        if normal is None:
            normals = _newell(padded)
            if outward_from is not None:
                flip = np.einsum("ij,ij->i", normals, centroids - outward_from) < 0
                normals[flip] *= -1
        else:
            normals = np.broadcast_to(np.asarray(normal, dtype=np.float64), (n, 3)).copy()
        ids = np.arange(self.size, self.size + n)
        self.parts.append(
            {
                "vertices": padded,
                "counts": np.full(n, k),
                "normals": normals,
                "centroids": centroids,
                "materials": np.broadcast_to(np.asarray(material), (n,)).copy(),
                "parents": ids if parent is None else np.broadcast_to(parent, (n,)).copy(),
                "layers": np.full(n, layer),
                "two_sided": np.full(n, two_sided),
            }
        )
        self.size += n
        return ids

    def build(self, **lines: np.ndarray) -> Mesh:
        cat = {key: np.concatenate([p[key] for p in self.parts]) for key in self.parts[0]}
        return Mesh(**lines, **cat)


def _newell(v: np.ndarray) -> np.ndarray:
    """Unit normals of (n, k, 3) polygons by Newell's method (robust to repeats)."""
    w = np.roll(v, -1, axis=1)
    n = np.stack(
        [
            ((v[..., 1] - w[..., 1]) * (v[..., 2] + w[..., 2])).sum(1),
            ((v[..., 2] - w[..., 2]) * (v[..., 0] + w[..., 0])).sum(1),
            ((v[..., 0] - w[..., 0]) * (v[..., 1] + w[..., 1])).sum(1),
        ],
        axis=-1,
    )
    return n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)


def _profile(car: Car, u: np.ndarray) -> dict[str, np.ndarray]:
    """Side profile at stations ``u`` (0 = tail, 1 = nose): heights and half-widths."""
    ws0, ws1 = car.windshield
    bl1, bl0 = car.backlight
    cabin = car.roof - car.belt
    belt = np.interp(
        u,
        [0.0, 0.05, max(bl0, 0.06), ws0, 0.93, 1.0],
        [car.deck - 0.1, car.deck - 0.01, car.belt, car.belt, car.hood - 0.06, car.hood - 0.17],
    )
    crown = 0.04 * np.sin(np.clip((u - bl1) / max(ws1 - bl1, 1e-3), 0, 1) * np.pi)
    height = np.interp(u, [bl0, bl1, ws1, ws0], [0.0, cabin, cabin, 0.0], left=0.0, right=0.0)
    height = np.where(height > 0, height + crown, 0.0)
    bottom = np.interp(
        u,
        [0.0, 0.06, 0.94, 1.0],
        [car.clearance + 0.14, car.clearance, car.clearance, car.clearance + 0.12],
    )
    r, gap = car.wheel_radius, 0.05
    for axle in (car.rear_overhang, 1.0 - car.front_overhang):
        dx = (u - axle) * car.length
        arch = r + np.sqrt(np.clip((r + gap) ** 2 - dx**2, 0, None))
        bottom = np.where(np.abs(dx) < r + gap, np.maximum(bottom, arch), bottom)
    # Rounded corners in plan view, and every height smoothed along the car, so
    # bumpers, hood, windshield and roof flow into each other as on a real car.
    e = np.clip((np.abs(u - 0.5) - 0.36) / 0.14, 0, 1)
    half = 0.5 * car.width * (1 - 0.2 * (1 - np.sqrt(1 - e**2)))
    return {"belt": belt, "height": height, "bottom": bottom, "half": half}


def _smooth_profile(car: Car, u: np.ndarray) -> dict[str, np.ndarray]:
    """:func:`_profile`, each height averaged over a few centimetres of the car's length."""
    fine = np.linspace(-0.1, 1.1, 1201)
    prof = _profile(car, np.clip(fine, 0, 1))
    out = {}
    for key, sigma in (("belt", 0.025), ("height", 0.02), ("bottom", 0.008), ("half", 0.0)):
        values = prof[key]
        if sigma > 0:
            k = np.exp(-0.5 * (np.arange(-40, 41) * 0.001 / sigma) ** 2)
            values = np.convolve(np.pad(values, 40, mode="edge"), k / k.sum(), mode="valid")
        out[key] = np.interp(u, fine, values)
    out["height"] = np.where(_profile(car, u)["height"] > 0, out["height"], 0.0)
    return out


def _sections(car: Car, prof: dict[str, np.ndarray]) -> np.ndarray:
    """Right-hand cross-section points (S, 10, 2) as (z, y), floor centre to roof centre."""
    y0, y1, hc, w = prof["bottom"], prof["belt"], prof["height"], prof["half"]
    wc = w * car.tumblehome
    t = np.clip(hc / 0.12, 0, 1)
    side = y1 - y0
    z = np.stack(
        [
            0 * w,
            0.9 * w,
            w,
            w,
            0.97 * w,
            0.88 * w,
            (1 - t) * 0.62 * w + t * wc,
            (1 - t) * 0.45 * w + t * 0.9 * wc,
            (1 - t) * 0.28 * w + t * 0.7 * wc,
            0 * w,
        ],
        axis=1,
    )
    y = np.stack(
        [
            y0,
            y0,
            y0 + 0.22 * side,
            y0 + 0.68 * side,
            y1 - 0.035,
            y1,
            y1 + 0.015,
            y1 + 0.015 + 0.84 * hc,
            y1 + 0.02 + 0.98 * hc,
            y1 + 0.025 + hc,
        ],
        axis=1,
    )
    return np.stack([z, y], axis=-1)


def build_car(car: Car) -> Mesh:
    """The car as polygons: lofted body, end caps with lights, wheels, mirrors.

    Introduced in chapter 1.
    """
    b = _Builder()
    ws0, ws1 = car.windshield
    bl1, bl0 = car.backlight
    axles = (car.rear_overhang, 1.0 - car.front_overhang)
    keys = [bl0, bl1, ws1, ws0, *axles]
    stations = 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, 72))  # denser at the rounded ends
    u = np.unique(np.round(np.concatenate([stations, keys]), 5))
    prof = _smooth_profile(car, u)
    sec = _sections(car, prof)  # (S, P, 2)
    x = (u - 0.5) * car.length
    S, P = sec.shape[:2]
    for sign in (1.0, -1.0):
        pts = np.concatenate(
            [x[:, None, None].repeat(P, 1), sec[..., 1:2], sign * sec[..., 0:1]], axis=-1
        )
        quads = np.stack(
            [pts[:-1, :-1], pts[1:, :-1], pts[1:, 1:], pts[:-1, 1:]], axis=2
        )  # (S-1, P-1, 4, 3)
        mid = 0.5 * (u[:-1] + u[1:])
        mat = np.full((S - 1, P - 1), Material.PAINT)
        mat[:, 0] = Material.UNDER
        mat[:, 1] = Material.LOWER
        glass_from = bl1 + 0.03
        side_glass = (mid > glass_from) & (mid < ws0 - 0.012)
        b_pillar = np.abs(mid - 0.5 * (glass_from + ws1)) < 0.012
        mat[side_glass, 6] = Material.GLASS
        mat[side_glass & b_pillar, 6] = Material.TRIM
        top_glass = ((mid > ws1) & (mid < ws0)) | ((mid > bl0) & (mid < bl1))
        mat[top_glass, 8] = Material.GLASS
        centre_y = 0.5 * (prof["bottom"] + prof["belt"] + prof["height"])
        ref = np.stack([x, centre_y, np.zeros_like(x)], axis=-1)
        ref = 0.5 * (ref[:-1] + ref[1:])[:, None, :].repeat(P - 1, 1)
        b.add(quads.reshape(-1, 4, 3), mat.reshape(-1), outward_from=ref.reshape(-1, 3))
    _end_caps(b, car, x, sec)
    _wheels(b, car, axles)
    _mirrors(b, car, prof, u, x)
    seams, handles, sides = _doors(car)
    return b.build(
        antenna=_antenna(car, prof, u, x), seams=seams, handles=handles, line_sides=sides
    )


def _doors(car: Car) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Door gaps and handles: two doors a side, or one on coupes-like hatches and pickups."""
    front, back = car.windshield[0] - 0.02, car.backlight[0] + 0.015
    cuts = (
        [front, back]
        if car.style in ("hatch", "pickup", "coupe")
        else [front, 0.5 * (front + back), back]
    )
    cuts_u = np.array(cuts)
    prof = _smooth_profile(car, cuts_u)
    sec = _sections(car, prof)[:, 2:5]  # (n, 3, 2): lower flank, crease, shoulder as (z, y)
    seams, handles, sides = [], [], []
    for s in (1.0, -1.0):
        for k, uc in enumerate(cuts_u):
            xc = (uc - 0.5) * car.length
            seams.append(np.stack([np.full(3, xc), sec[k, :, 1], s * sec[k, :, 0] * 1.004], axis=1))
            sides.append(s)
        for k in range(len(cuts_u) - 1):
            xh = (cuts_u[k] - 0.5) * car.length - 0.12
            yh, zh = sec[k, 1, 1] + 0.6 * (sec[k, 2, 1] - sec[k, 1, 1]), s * sec[k, 1, 0] * 1.006
            handles.append(
                np.array(
                    [
                        [xh - 0.13, yh, zh],
                        [xh, yh, zh],
                        [xh, yh + 0.035, zh],
                        [xh - 0.13, yh + 0.035, zh],
                    ]
                )
            )
    return np.array(seams), np.array(handles), np.array(sides)


def _cap_outline(xc: float, section: np.ndarray) -> np.ndarray:
    right = np.concatenate(
        [np.full((len(section), 1), xc), section[:, 1:2], section[:, 0:1]], axis=1
    )
    left = right[-2:0:-1] * np.array([1, 1, -1])
    return np.concatenate([right, left])


#: Decals on the nose and tail: (z from, z to, y from, y to) as fractions of the
#: end's half-width and height, and the material.
_NOSE = (
    ((0.5, 0.93, 0.62, 0.88), Material.HEADLIGHT),
    ((-0.93, -0.5, 0.62, 0.88), Material.HEADLIGHT),
    ((-0.42, 0.42, 0.34, 0.6), Material.HOLE),  # grille
    ((-0.62, 0.62, 0.06, 0.2), Material.HOLE),  # lower intake
    ((-0.88, 0.88, 0.0, 0.06), Material.LOWER),  # valance
)
_TAIL = (
    ((0.55, 0.96, 0.55, 0.85), Material.TAILLIGHT),
    ((-0.96, -0.55, 0.55, 0.85), Material.TAILLIGHT),
    ((-0.2, 0.2, 0.28, 0.48), Material.PLATE),
    ((-0.88, 0.88, 0.0, 0.16), Material.LOWER),  # diffuser
)


def _end_caps(b: _Builder, car: Car, x: np.ndarray, sec: np.ndarray) -> None:
    for end, sign, decals in ((-1, 1.0, _NOSE), (0, -1.0, _TAIL)):
        xc, section = x[end], sec[end]
        cap = b.add(_cap_outline(xc, section)[None], Material.PAINT, normal=(sign, 0, 0))
        y0, h, w = section[0, 1], section[5, 1] - section[0, 1], section[2, 0]
        xd = xc + sign * 0.004  # just proud of the cap
        for layer, ((z0, z1, ya, yb), material) in enumerate(decals, start=1):
            ys, zs = y0 + np.array([ya, ya, yb, yb]) * h, np.array([z0, z1, z1, z0]) * w
            quad = np.stack([np.full(4, xd), ys, zs], axis=1)
            b.add(quad[None], material, normal=(sign, 0, 0), parent=cap, layer=layer)


def _circle(cx: float, cy: float, z: float, r: float, n: int, phase: float = 0.0) -> np.ndarray:
    a = phase + np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.stack([cx + r * np.cos(a), cy + r * np.sin(a), np.full(n, z)], axis=1)


def _wheels(b: _Builder, car: Car, axles: tuple[float, float]) -> None:
    r, tyre = car.wheel_radius, 0.22
    n = WHEEL_SEGMENTS
    for axle in axles:
        xw = (axle - 0.5) * car.length
        for s in (1.0, -1.0):
            zc = s * (0.5 * car.width - 0.05 - tyre / 2)
            outer, inner = (
                _circle(xw, r, zc + s * tyre / 2, r, n),
                _circle(xw, r, zc - s * tyre / 2, r, n),
            )
            tread = np.stack([outer, np.roll(outer, -1, 0), np.roll(inner, -1, 0), inner], axis=1)
            b.add(tread, Material.RUBBER, outward_from=np.array([[xw, r, zc]]))
            b.add(inner[None], Material.RUBBER, normal=(0, 0, -s))
            # Wheel well: a dark arch behind the tyre, seen through the gap.
            a = np.linspace(0, np.pi, n)
            arch = np.stack(
                [
                    xw + (r + 0.05) * np.cos(a),
                    r + (r + 0.05) * np.sin(a),
                    np.full(n, s * (0.5 * car.width - 0.3)),
                ],
                1,
            )
            b.add(arch[None], Material.HOLE, normal=(0, 0, s), two_sided=True)
            face = b.add(outer[None], Material.RUBBER, normal=(0, 0, s))
            z = zc + s * (tyre / 2 + 0.004)
            b.add(
                _circle(xw, r, z, 0.7 * r, n)[None],
                Material.RIM,
                normal=(0, 0, s),
                parent=face,
                layer=1,
            )
            step = 2 * np.pi / car.spokes
            for k in range(car.spokes):
                a = k * step + np.linspace(0.18 * step, 0.82 * step, 4)
                ring = np.concatenate(
                    [
                        np.stack([np.cos(a), np.sin(a)], 1) * 0.6 * r,
                        np.stack([np.cos(a[::-1]), np.sin(a[::-1])], 1) * 0.26 * r,
                    ]
                )
                hole = np.concatenate([ring + [xw, r], np.full((8, 1), z)], axis=1)
                b.add(hole[None], Material.HOLE, normal=(0, 0, s), parent=face, layer=2)
            b.add(
                _circle(xw, r, z, 0.16 * r, 10)[None],
                Material.RIM,
                normal=(0, 0, s),
                parent=face,
                layer=3,
            )


def _mirrors(
    b: _Builder, car: Car, prof: dict[str, np.ndarray], u: np.ndarray, x: np.ndarray
) -> None:
    um = car.windshield[0] - 0.035
    xm = (um - 0.5) * car.length
    ym = float(np.interp(um, u, prof["belt"]))
    half = float(np.interp(um, u, prof["half"]))
    for s in (1.0, -1.0):
        lo = np.array([xm - 0.06, ym + 0.03, s * (car.tumblehome * half)])
        hi = np.array([xm + 0.07, ym + 0.16, s * (half + 0.13)])
        b.add(_box(lo, hi), Material.TRIM, outward_from=((lo + hi) / 2)[None])


def _box(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    c = np.array(
        [
            [lo[0], lo[1], lo[2]],
            [hi[0], lo[1], lo[2]],
            [hi[0], hi[1], lo[2]],
            [lo[0], hi[1], lo[2]],
            [lo[0], lo[1], hi[2]],
            [hi[0], lo[1], hi[2]],
            [hi[0], hi[1], hi[2]],
            [lo[0], hi[1], hi[2]],
        ]
    )
    faces = [[0, 1, 2, 3], [4, 5, 6, 7], [0, 1, 5, 4], [3, 2, 6, 7], [0, 3, 7, 4], [1, 2, 6, 5]]
    return c[np.array(faces)]


def _antenna(car: Car, prof: dict[str, np.ndarray], u: np.ndarray, x: np.ndarray) -> np.ndarray:
    if car.antenna <= 0:
        return np.empty((0, 3))
    ua = car.backlight[0] + 0.02
    base = np.array(
        [
            (ua - 0.5) * car.length,
            float(np.interp(ua, u, prof["belt"] + prof["height"])) + 0.02,
            0.0,
        ]
    )
    tip = base + car.antenna * np.array([-0.45, 0.89, 0.0])
    return np.stack([base, tip])
