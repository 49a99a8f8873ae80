"""What one synthetic car and its photo studio look like: random, but seeded.

Real Carvana photos come from a handful of studios: a fixed camera, a car on a
turntable photographed every 22.5 degrees.  So the *studio* (wall, floor, disc,
lettering, camera, lights) is drawn once per car and shared by its 16 views,
and the *car* (body style, proportions, colour, wheels) is drawn once per car
too.  The studio's ranges (wall and floor tones, lettering size and place,
camera height, distance and zoom) were set so that the photos look like real
Carvana ones and the car covers as much of the frame; the camera's tone curve,
white balance, noise, blur and JPEG quality vary widely on purpose.
Everything comes from one ``numpy.random.Generator`` per car, which is why car
``i`` looks the same whether the set holds 3 cars or 300.  Introduced in
chapter 1 (*Getting the data*).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Body styles and how often they appear (Carvana sells mostly sedans and SUVs).
BODY_STYLES = {"sedan": 0.3, "suv": 0.3, "hatch": 0.12, "pickup": 0.1, "van": 0.08, "coupe": 0.1}

#: Paint colours (sRGB in [0, 1]) and their market shares: white, black, gray
#: and silver dominate real car parks, which is what makes this task hard.
PAINTS: tuple[tuple[str, tuple[float, float, float], float], ...] = (
    ("white", (0.93, 0.93, 0.92), 0.22),
    ("pearl", (0.88, 0.87, 0.83), 0.04),
    ("black", (0.05, 0.05, 0.06), 0.18),
    ("gray", (0.36, 0.37, 0.39), 0.14),
    ("silver", (0.70, 0.71, 0.72), 0.12),
    ("blue", (0.10, 0.20, 0.45), 0.08),
    ("red", (0.62, 0.06, 0.06), 0.08),
    ("maroon", (0.32, 0.06, 0.08), 0.03),
    ("brown", (0.35, 0.26, 0.18), 0.03),
    ("beige", (0.72, 0.66, 0.55), 0.02),
    ("green", (0.12, 0.28, 0.18), 0.02),
    ("orange", (0.85, 0.38, 0.08), 0.02),
    ("yellow", (0.90, 0.75, 0.12), 0.01),
    ("sky", (0.45, 0.60, 0.75), 0.01),
)

#: Made-up dealer names for the giant letters on the studio wall.
DEALER_WORDS = (
    "AUTOHAUS",
    "MOTORS",
    "DRIVEWAY",
    "CARLOT",
    "AUTOWAY",
    "WHEELHOUSE",
    "ROADSIDE",
    "MOTORWORKS",
    "AUTOMART",
    "CARHUB",
    "RIDEWELL",
    "TURNPIKE",
    "AUTOPLEX",
    "GARAGE",
)


@dataclass(frozen=True)
class Car:
    """Shape and finish of one car, in metres (x forward, y up, z to the right)."""

    style: str
    length: float
    width: float
    roof: float  # roof height above the floor
    belt: float  # beltline: where the windows start
    hood: float  # height of the hood at the nose
    deck: float  # height of the trunk / bed at the tail
    clearance: float
    wheel_radius: float
    front_overhang: float  # fraction of the length ahead of the front axle
    rear_overhang: float
    windshield: tuple[float, float]  # (base, top) as fractions from the tail
    backlight: tuple[float, float]  # rear glass (top, base) as fractions from the tail
    tumblehome: float  # greenhouse width relative to the body
    paint: tuple[float, float, float]
    paint_name: str
    gloss: float  # weight of the clear-coat reflection
    rim: tuple[float, float, float]
    spokes: int
    trim: tuple[float, float, float]  # mirrors/pillars: body colour or black
    antenna: float  # mast length in metres; 0 = none
    lower: tuple[float, float, float]  # sills and lower bumpers: black or grey plastic, or paint


@dataclass(frozen=True)
class Studio:
    """Wall, floor, turntable, camera and lights shared by a car's 16 views."""

    wall: tuple[float, float, float]
    floor: tuple[float, float, float]
    disc_gain: float  # turntable brightness relative to the floor
    disc_radius: float
    wall_distance: float  # from the turntable centre to the back wall
    letters: str
    letter_tone: float
    letter_height: float  # cap height as a fraction of the image height
    letter_top: float  # top of the letters as a fraction of the image height
    letter_shift: float  # horizontal offset of the word, fraction of the width
    letter_bold: (
        float  # where the letters turn from regular to bold, fraction of the word (1 = all regular)
    )
    stains: int  # darker tyre marks on the turntable
    camera_distance: float
    camera_height: float
    target_height: float
    zoom: float  # focal length in units of the image width
    key_azimuth: float  # radians; where the main softbox sits
    exposure: float
    noise: float  # sensor noise, grey levels
    blur: float  # lens softness: centre weight of a 3x3 kernel (smaller is softer)
    jpeg_quality: int
    gamma: float  # camera tone curve and white balance: domain randomisation
    balance: tuple[float, float, float]
    glass: float  # how much of the studio shows through the windows
    contact: float  # darkness of the contact shadow right under the car
    contact_blur: float  # its softness, fraction of the image width


def _pick(rng: np.random.Generator, table: dict[str, float]) -> str:
    names = list(table)
    weights = np.array([table[n] for n in names])
    return names[int(rng.choice(len(names), p=weights / weights.sum()))]


def random_car(rng: np.random.Generator) -> Car:
    """Draw one car: body style first, then proportions that fit it. Introduced in chapter 1."""
    style = _pick(rng, BODY_STYLES)
    u = rng.uniform
    if style == "sedan":
        length, width, roof = u(4.45, 5.0), u(1.78, 1.9), u(1.38, 1.5)
        belt = roof - u(0.44, 0.52)
        ws = u(0.64, 0.69)
        windshield, backlight = (ws, ws - u(0.15, 0.19)), (u(0.28, 0.32), u(0.15, 0.19))
        clearance, wheel = u(0.13, 0.18), u(0.31, 0.35)
    elif style == "suv":
        length, width, roof = u(4.4, 5.1), u(1.82, 2.0), u(1.65, 1.85)
        belt = roof - u(0.5, 0.6)
        ws = u(0.70, 0.74)
        windshield, backlight = (ws, ws - u(0.10, 0.13)), (u(0.06, 0.09), u(0.02, 0.04))
        clearance, wheel = u(0.19, 0.25), u(0.35, 0.40)
    elif style == "hatch":
        length, width, roof = u(3.9, 4.4), u(1.7, 1.8), u(1.42, 1.55)
        belt = roof - u(0.48, 0.55)
        ws = u(0.68, 0.72)
        windshield, backlight = (ws, ws - u(0.14, 0.17)), (u(0.15, 0.19), u(0.04, 0.07))
        clearance, wheel = u(0.13, 0.17), u(0.30, 0.33)
    elif style == "van":  # a minivan: tall, long, a short nose under a long windshield
        length, width, roof = u(4.8, 5.2), u(1.9, 2.0), u(1.72, 1.82)
        belt = roof - u(0.5, 0.58)
        ws = u(0.78, 0.82)
        windshield, backlight = (ws, ws - u(0.16, 0.2)), (u(0.04, 0.06), u(0.01, 0.02))
        clearance, wheel = u(0.15, 0.19), u(0.33, 0.37)
    elif style == "coupe":  # low, with a long sloping rear window
        length, width, roof = u(4.3, 4.8), u(1.78, 1.9), u(1.3, 1.4)
        belt = roof - u(0.38, 0.44)
        ws = u(0.62, 0.66)
        windshield, backlight = (ws, ws - u(0.17, 0.2)), (u(0.32, 0.36), u(0.15, 0.19))
        clearance, wheel = u(0.12, 0.15), u(0.32, 0.36)
    else:  # pickup: a cab and a covered bed
        length, width, roof = u(5.0, 5.5), u(1.88, 2.02), u(1.78, 1.92)
        belt = roof - u(0.55, 0.62)
        ws = u(0.72, 0.75)
        windshield, backlight = (ws, ws - u(0.09, 0.11)), (u(0.45, 0.47), u(0.43, 0.44))
        clearance, wheel = u(0.22, 0.28), u(0.38, 0.43)
    hood = belt - u(0.05, 0.14)
    deck = belt - u(0.0, 0.08) if style in ("sedan", "pickup", "coupe") else belt
    name = PAINTS[int(rng.choice(len(PAINTS), p=_paint_weights()))][0]
    base = np.array(dict((n, c) for n, c, _ in PAINTS)[name])
    paint = tuple(np.clip(base * u(0.9, 1.08) + rng.normal(0, 0.015, 3), 0, 1).tolist())
    chrome = rng.random() < 0.55
    rim = (u(0.66, 0.8),) * 3 if chrome else (u(0.1, 0.25),) * 3
    trim = paint if rng.random() < 0.5 else (0.04, 0.04, 0.045)
    width *= 1.04  # measured on real photos: v4's cars were a little narrow for their height
    return Car(
        style=style,
        length=length,
        width=width,
        roof=roof,
        belt=belt,
        hood=hood,
        deck=deck,
        clearance=clearance,
        wheel_radius=wheel,
        front_overhang=u(0.18, 0.23),
        rear_overhang=u(0.17, 0.24),
        windshield=windshield,
        backlight=backlight,
        tumblehome=u(0.8, 0.88),
        paint=paint,
        paint_name=name,
        gloss=u(0.55, 1.0),
        rim=rim,
        spokes=int(rng.choice([5, 6, 7, 10])),
        trim=trim,
        antenna=u(0.35, 0.75) if rng.random() < 0.35 else 0.0,
        lower=(u(0.03, 0.12),) * 3 if rng.random() < 0.55 else paint,
    )


def _paint_weights() -> np.ndarray:
    weights = np.array([w for _, _, w in PAINTS])
    return weights / weights.sum()


def random_studio(rng: np.random.Generator) -> Studio:
    """Draw one studio session: near-white wall, pale floor, fixed camera. Introduced in chapter
    1."""
    u = rng.uniform
    wall = u(0.9, 0.98)
    tint = rng.normal(0, 0.006, 3) + np.array([-0.01, 0.0, 0.012]) * u(0, 1)  # a cool, bluish grey
    floor = u(0.55, 0.7)
    words = rng.choice(DEALER_WORDS, size=2, replace=False)
    letters = str(words[0]) if rng.random() < 0.75 else f"{words[0]} {words[1]}"
    return Studio(
        wall=tuple(np.clip(wall + tint, 0, 1).tolist()),
        floor=tuple(np.clip(floor + tint, 0, 1).tolist()),
        disc_gain=u(0.97, 1.08),
        disc_radius=u(2.7, 3.4),
        wall_distance=u(4.5, 5.5),
        letters=letters,
        letter_tone=u(0.25, 0.6),
        letter_height=u(0.12, 0.19),
        letter_top=u(0.15, 0.24),
        letter_shift=u(-0.1, 0.1),
        letter_bold=u(0, 1),
        stains=int(rng.integers(0, 7)),
        camera_distance=u(6.6, 7.4),
        camera_height=u(2.0, 2.4),
        target_height=u(0.55, 0.8),
        zoom=u(1.0, 1.12),
        key_azimuth=u(-0.6, 0.6),
        exposure=u(0.9, 1.08),
        noise=u(1.0, 4.0),
        blur=u(1.0, 4.0),
        jpeg_quality=int(rng.integers(72, 96)),
        gamma=float(np.exp(rng.normal(0, 0.1))),
        balance=tuple(np.exp(rng.normal(0, 0.015, 3)).tolist()),
        glass=u(0.25, 0.65),
        contact=u(0.75, 0.95),
        contact_blur=u(0.004, 0.012),
    )
