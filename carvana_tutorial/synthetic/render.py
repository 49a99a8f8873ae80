"""Render a studio photo of a synthetic car and its exact silhouette mask.

What it models, matched by eye and by measurement to real Carvana photos: a
near-white curved wall with large dealer lettering (thin letters turning bold,
pale to mid grey) at a fifth to a third of the height, which the car's roof
overlaps; a pale bluish-grey floor with a turntable that spans nearly the full
width, a thin darker rim and tyre stains; a camera high and close enough that
the car sits low and large (about a fifth of the frame on average, as in real
photos).  The studio is painted once per car with separable numpy gradients.
Each view rotates the car's mesh on the turntable, projects it through a
pinhole camera, shades every polygon (soft key light, clear-coat reflection
of ceiling / wall / floor, Fresnel) and fills the polygons back to front with
PIL.  Per pixel, paint mirrors the studio's horizon (bright wall above a soft
line) and glass is tinted see-through (the studio behind shows in it).  The
mask is the union of the same polygons, so it is exact.  The floor under the
car is drawn before the car and never enters the mask, as in Carvana's masks: a
wide soft pool, a near-black contact shadow right under the body that fades
within a hand's width of it (visible between the wheels and under the
bumpers), and tight patches under the tyres.  Lens softness,
sensor noise, a random tone curve and white balance and JPEG quality 72-95
finish the photo (domain randomisation).

What it does not model: real curved panels (the smoothed mesh is still
flat-shaded), interiors seen through the glass, sharp mirror
reflections of the studio in the paint, chrome trim and detailed alloy rims,
badges, licence-plate text, real studio lighting and inter-reflection; the
other side of a car is never seen through its windows.  A model trained on
these photos alone reaches about 0.95 mean dice on real Carvana photos (see the
README's Benchmarks).  Introduced in chapter 1.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from .mesh import Material, Mesh, build_car
from .scene import Car, Studio

#: Degrees the turntable turns between two views (16 views, full circle).
VIEW_STEP = 22.5
_REFERENCE_WIDTH = 1918.0
_NOISE_PAD = 16


@dataclass(frozen=True)
class Camera:
    """A pinhole camera on the studio's axis, looking down at the turntable."""

    position: np.ndarray
    basis: np.ndarray  # rows: right, up, forward
    focal: float
    centre: tuple[float, float]

    @classmethod
    def for_studio(
        cls, studio: Studio, size: tuple[int, int], shift: tuple[float, float] = (0.0, 0.0)
    ) -> Camera:
        height, width = size
        position = np.array([0.0, studio.camera_height, studio.camera_distance])
        forward = np.array([0.0, studio.target_height, 0.0]) - position
        forward /= np.linalg.norm(forward)
        right = np.cross(forward, [0.0, 1.0, 0.0])
        right /= np.linalg.norm(right)
        up = np.cross(right, forward)
        centre = (width / 2 + shift[0] * width, height / 2 + shift[1] * height)
        return cls(position, np.stack([right, up, forward]), studio.zoom * width, centre)

    def project(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pixel coordinates (..., 2) and depth (...) of world points (..., 3)."""
        cam = (points - self.position) @ self.basis.T
        depth = cam[..., 2]
        xy = np.stack(
            [
                self.centre[0] + self.focal * cam[..., 0] / depth,
                self.centre[1] - self.focal * cam[..., 1] / depth,
            ],
            axis=-1,
        )
        return xy, depth

    def ray_rows(self, height: int) -> np.ndarray:
        """World direction of the ray through the centre column of each row."""
        v = (np.arange(height) + 0.5 - self.centre[1]) / self.focal
        cam = np.stack([np.zeros_like(v), -v, np.ones_like(v)], axis=1)
        return cam @ self.basis


def _smoothstep(a: float, b: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - a) / (b - a), 0.0, 1.0)
    return t * t * (3 - 2 * t)


def _scale(size: tuple[int, int]) -> float:
    return size[1] / _REFERENCE_WIDTH


@lru_cache(maxsize=8)
def _font(pixels: int, bold: bool) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """A sans font: matplotlib's DejaVu Sans (regular or bold), else Pillow's built-in."""
    spec = importlib.util.find_spec("matplotlib")
    if spec is not None and spec.submodule_search_locations:
        name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
        path = Path(spec.submodule_search_locations[0]) / "mpl-data" / "fonts" / "ttf" / name
        if path.is_file():
            return ImageFont.truetype(str(path), pixels)
    return ImageFont.load_default(size=pixels)


def render_studio(studio: Studio, size: tuple[int, int]) -> np.ndarray:
    """The empty studio as uint8 (H, W, 3): wall, lettering, floor, disc.

    Introduced in chapter 1.
    """
    height, width = size
    cam = Camera.for_studio(studio, size)
    rays = cam.ray_rows(height)
    # Floor point hit by each row's ray, and how far it lies in front of the wall.
    down = np.minimum(rays[:, 1], -1e-6)
    t = cam.position[1] / -down
    floor_z = cam.position[2] + t * rays[:, 2]
    ahead = np.where(rays[:, 1] < 0, floor_z + studio.wall_distance, -1.0)
    on_wall = 1.0 - _smoothstep(-0.2, 2.2, ahead)  # the cove blends floor into wall
    rows_v = np.arange(height) / height
    wall_shade = 1.02 - 0.12 * rows_v
    floor_shade = 0.86 + 0.22 * np.exp(-np.clip(ahead, 0, None) / 5.0)
    wall = np.array(studio.wall) * wall_shade[:, None]
    floor = np.array(studio.floor) * floor_shade[:, None]
    rows = on_wall[:, None] * wall + (1 - on_wall[:, None]) * floor
    cols = 1.0 - 0.1 * ((np.arange(width) + 0.5 - width / 2) / (width / 2)) ** 2
    image = (rows[:, None, :] * cols[None, :, None] * (255.0 * studio.exposure)).astype(np.float32)
    _paint_letters(image, studio, size)
    _paint_disc(image, studio, cam, size)
    return np.clip(image + 0.5, 0, 255).astype(np.uint8)


def _paint_letters(image: np.ndarray, studio: Studio, size: tuple[int, int]) -> None:
    height, width = size
    cap = max(4, int(studio.letter_height * height))
    split = round(
        studio.letter_bold * len(studio.letters)
    )  # thin letters, then bold ones, like Carvana's own
    pixels = int(cap / 0.73)
    parts = [
        (studio.letters[:split], _font(pixels, False)),
        (studio.letters[split:], _font(pixels, True)),
    ]
    boxes = [font.getbbox(text or " ") for text, font in parts]
    widths = [font.getlength(text) for text, font in parts]
    top = min(box[1] for box in boxes)
    canvas = Image.new("L", (int(sum(widths)) + 8, max(box[3] for box in boxes) - top + 8))
    draw = ImageDraw.Draw(canvas)
    draw.text((4, 4 - top), parts[0][0], fill=255, font=parts[0][1])
    draw.text((4 + widths[0], 4 - top), parts[1][0], fill=255, font=parts[1][1])
    blur = 1.6 * _scale(size)
    if blur > 0.3:
        canvas = canvas.filter(ImageFilter.GaussianBlur(blur))
    x0 = int(width / 2 + studio.letter_shift * width - canvas.width / 2)
    y0 = int(studio.letter_top * height)
    _blend(
        image,
        np.asarray(canvas, dtype=np.float32) / 255.0,
        x0,
        y0,
        studio.letter_tone * 255.0 * studio.exposure,
        mode="over",
    )


def _paint_disc(image: np.ndarray, studio: Studio, cam: Camera, size: tuple[int, int]) -> None:
    height, width = size
    a = np.linspace(0, 2 * np.pi, 180, endpoint=False)
    rim = np.stack(
        [studio.disc_radius * np.cos(a), np.full_like(a, 0.001), studio.disc_radius * np.sin(a)], 1
    )
    xy, _ = cam.project(rim)
    canvas = Image.new("L", (width, height))
    draw = ImageDraw.Draw(canvas)
    draw.polygon(xy.ravel().tolist(), fill=255)
    edge = Image.new("L", (width, height))
    ImageDraw.Draw(edge).line(
        np.concatenate([xy, xy[:1]]).ravel().tolist(),
        fill=255,
        width=max(1, round(5 * _scale(size))),
    )
    blur = 1.2 * _scale(size)
    if blur > 0.3:
        canvas = canvas.filter(ImageFilter.GaussianBlur(blur))
        edge = edge.filter(ImageFilter.GaussianBlur(blur))
    gain = np.asarray(canvas, dtype=np.float32) / 255.0 * (studio.disc_gain - 1.0) + 1.0
    gain *= 1.0 - 0.16 * np.asarray(edge, dtype=np.float32) / 255.0
    stains = Image.new(
        "L", (width // 4, height // 4)
    )  # darker tyre marks and scuffs on the turntable
    draw, rng = (
        ImageDraw.Draw(stains),
        np.random.default_rng(int(studio.disc_radius * 1e6)),
    )  # seeded by the studio
    for _ in range(studio.stains):
        r, a = studio.disc_radius * np.sqrt(rng.uniform(0.05, 0.8)), rng.uniform(0, 2 * np.pi)
        centre, ext = np.array([r * np.cos(a), 0.0, r * np.sin(a)]), rng.uniform(0.3, 1.2, 2)
        box = np.stack([centre - [ext[0], 0.0, ext[1]], centre + [ext[0], 0.0, ext[1]]])
        (x0, y0), (x1, y1) = (cam.project(box)[0] / 4).tolist()
        draw.ellipse(
            (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)), fill=int(rng.integers(20, 70))
        )
    stains = stains.filter(ImageFilter.GaussianBlur(max(0.5, 6 * _scale(size)))).resize(
        (width, height)
    )
    gain *= 1.0 - np.asarray(stains, dtype=np.float32) / 255.0 * 0.35
    image *= gain[..., None]


def _blend(image: np.ndarray, alpha: np.ndarray, x0: int, y0: int, value: float, mode: str) -> None:
    """Composite ``alpha`` (h, w) into ``image`` at (x0, y0), clipped to the frame."""
    height, width = image.shape[:2]
    xs, ys = max(0, x0), max(0, y0)
    xe, ye = min(width, x0 + alpha.shape[1]), min(height, y0 + alpha.shape[0])
    if xe <= xs or ye <= ys:
        return
    a = alpha[ys - y0 : ye - y0, xs - x0 : xe - x0, None]
    region = image[ys:ye, xs:xe]
    if mode == "over":
        out = region * (1 - a) + value * a
    else:  # darken by a factor, for shadows
        out = region * (1 - value * a)
    region[...] = out if image.dtype.kind == "f" else np.clip(out + 0.5, 0, 255)


def _rotation(angle: float) -> np.ndarray:
    """Turntable rotation: at 0 the car's nose (+x) points at the camera (+z)."""
    a = np.radians(angle) - np.pi / 2
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def _shadow(
    image: np.ndarray, car: Car, studio: Studio, cam: Camera, rot: np.ndarray, size: tuple[int, int]
) -> None:
    """Darken the floor under the car: a wide soft pool, a near-black contact shadow
    (ambient occlusion) right under the body that fades within a hand's width of
    it, and tight patches under the tyres.  None of it is car in the mask."""
    height, width = size
    q = 4
    small = (max(1, width // q), max(1, height // q))
    hl, hw = 0.5 * car.length, 0.5 * car.width

    def footprint(draw: ImageDraw.ImageDraw, sx: float, sz: float, fill: int) -> None:
        foot = np.array(
            [
                [sx * hl, 0, sz * hw],
                [-sx * hl, 0, sz * hw],
                [-sx * hl, 0, -sz * hw],
                [sx * hl, 0, -sz * hw],
            ]
        )
        xy, _ = cam.project(foot @ rot.T)
        draw.polygon((xy / q).ravel().tolist(), fill=fill)

    pool = Image.new("L", small)
    footprint(ImageDraw.Draw(pool), 1.0, 1.02, 110)
    pool = pool.filter(ImageFilter.GaussianBlur(max(0.5, 0.028 * width / q)))
    contact = Image.new("L", small)
    draw = ImageDraw.Draw(contact)
    footprint(draw, 0.97, 0.95, 255)
    r = car.wheel_radius
    for axle in (car.rear_overhang, 1.0 - car.front_overhang):
        xw = (axle - 0.5) * car.length
        for s in (1.0, -1.0):
            zc = s * (0.5 * car.width - 0.16)
            patch = (
                np.array(
                    [
                        [xw + 0.5 * r, 0, zc + 0.14],
                        [xw - 0.5 * r, 0, zc + 0.14],
                        [xw - 0.5 * r, 0, zc - 0.14],
                        [xw + 0.5 * r, 0, zc - 0.14],
                    ]
                )
                @ rot.T
            )
            pxy, _ = cam.project(patch)
            draw.polygon((pxy / q).ravel().tolist(), fill=255)
    contact = contact.filter(ImageFilter.GaussianBlur(max(0.5, studio.contact_blur * width / q)))
    a_pool, a_contact = (
        np.asarray(pool, np.float32) / 255.0,
        np.asarray(contact, np.float32) / 255.0,
    )
    alpha = 1.0 - (1.0 - 0.5 * a_pool) * (1.0 - studio.contact * a_contact)
    box = Image.fromarray((alpha * 255).astype(np.uint8)).getbbox()
    if box is None:
        return
    left, top, right, bottom = box
    crop = Image.fromarray(alpha[top:bottom, left:right].astype(np.float32))
    crop = np.asarray(
        crop.resize(((right - left) * q, (bottom - top) * q), Image.Resampling.BILINEAR)
    )
    _blend(image, crop, left * q, top * q, 1.0, mode="darken")


def _environment(r: np.ndarray, studio: Studio) -> np.ndarray:
    """What the clear coat reflects in direction ``r``: floor, wall, bright ceiling."""
    wall = np.array(studio.wall) * 1.05
    floor = np.array(studio.floor) * 0.8
    t = _smoothstep(-0.12, 0.06, r[:, 1])[:, None]
    env = floor * (1 - t) + wall * t
    top = _smoothstep(0.3, 0.65, r[:, 1])[:, None]
    env = env * (1 - top) + 1.2 * top
    behind = _smoothstep(0.2, 0.9, r[:, 2])[
        :, None
    ]  # the dark side of the studio, behind the camera
    return env * (1 - 0.45 * behind)


def _shade(
    mesh: Mesh, normals: np.ndarray, centroids: np.ndarray, car: Car, studio: Studio, cam: Camera
) -> np.ndarray:
    """Colour (N, 3) in [0, 255] of each polygon under the studio's lights."""
    view = cam.position - centroids
    view /= np.linalg.norm(view, axis=1, keepdims=True)
    ndv = np.clip(np.einsum("ij,ij->i", normals, view), 0.0, 1.0)
    key = np.array([0.5 * np.sin(studio.key_azimuth), 1.0, 0.7 * np.cos(studio.key_azimuth)])
    key /= np.linalg.norm(key)
    ndl = np.clip(normals @ key, 0.0, 1.0)
    diffuse = 0.5 + 0.55 * ndl + 0.12 * np.clip(normals[:, 1], 0, 1)
    refl_dir = 2 * ndv[:, None] * normals - view
    env = _environment(refl_dir, studio)
    fresnel = 0.04 + 0.96 * (1 - ndv) ** 5
    highlight = np.clip(refl_dir @ key, 0, 1) ** 60

    base = np.zeros((len(normals), 3))
    reflect = np.zeros(len(normals))
    specular = np.zeros(len(normals))
    table = {
        Material.PAINT: (car.paint, car.gloss * (0.15 + 0.7 * fresnel), 0.9 * car.gloss),
        Material.TRIM: (car.trim, 0.1 + 0.6 * fresnel, 0.6),
        Material.GLASS: ((0.035, 0.04, 0.045), 0.16 + 0.7 * fresnel, 1.0),
        Material.RUBBER: ((0.05, 0.05, 0.055), 0.03 + 0.1 * fresnel, 0.05),
        Material.RIM: (car.rim, 0.35 + 0.3 * fresnel, 0.8),
        Material.HOLE: ((0.025, 0.025, 0.028), 0.02 + 0.0 * fresnel, 0.0),
        Material.HEADLIGHT: ((0.78, 0.8, 0.82), 0.3 + 0.3 * fresnel, 1.0),
        Material.TAILLIGHT: ((0.55, 0.04, 0.05), 0.15 + 0.5 * fresnel, 0.8),
        Material.PLATE: ((0.82, 0.82, 0.8), 0.05 + 0.2 * fresnel, 0.2),
        Material.UNDER: ((0.05, 0.05, 0.05), 0.0 * fresnel, 0.0),
        Material.LOWER: (car.lower, 0.05 + 0.3 * fresnel, 0.3),
    }
    for material, (colour, refl, spec) in table.items():
        sel = mesh.materials == material
        if not sel.any():
            continue
        base[sel] = colour
        reflect[sel] = np.broadcast_to(refl, ndv.shape)[sel]
        specular[sel] = spec
    colour = base * diffuse[:, None] * (1 - reflect[:, None]) + env * reflect[:, None]
    colour += (specular * highlight * 0.9)[:, None]
    return np.clip(colour * 255.0 * studio.exposure, 0, 255)


def render_view(
    car: Car,
    mesh: Mesh,
    studio: Studio,
    background: np.ndarray,
    noise: np.ndarray,
    angle: float,
    rng: np.random.Generator,
) -> tuple[Image.Image, np.ndarray]:
    """One photo of ``car`` turned ``angle`` degrees, and its {0,1} mask.

    ``background`` is :func:`render_studio`'s output for this studio and size,
    ``noise`` a slightly larger int16 field of sensor noise; ``rng`` jitters
    the camera and picks this view's window of the noise.  Introduced in
    chapter 1.
    """
    size = background.shape[:2]
    height, width = size
    cam = Camera.for_studio(studio, size, shift=tuple(rng.normal(0, 0.004, 2)))
    rot = _rotation(angle)
    image = background.copy()
    _shadow(image, car, studio, cam, rot, size)
    photo = Image.fromarray(image)
    mask = Image.new("L", (width, height))

    verts = mesh.vertices @ rot.T
    normals = mesh.normals @ rot.T
    centroids = mesh.centroids @ rot.T
    xy, _ = cam.project(verts)
    facing = np.einsum("ij,ij->i", normals, cam.position - centroids) > 0
    visible = (facing | mesh.two_sided)[mesh.parents]
    order_depth = np.linalg.norm(centroids - cam.position, axis=1)[mesh.parents]
    order = np.lexsort((mesh.layers, mesh.parents, -order_depth))
    order = order[visible[order]]
    colours = np.rint(_shade(mesh, normals, centroids, car, studio, cam)).astype(int)
    surface = Image.new("L", (width, height))  # which material shows where
    draw, mdraw, sdraw = ImageDraw.Draw(photo), ImageDraw.Draw(mask), ImageDraw.Draw(surface)
    for i in order.tolist():
        points = xy[i, : mesh.counts[i]].ravel().tolist()
        draw.polygon(points, fill=tuple(colours[i]))
        mdraw.polygon(points, fill=1)
        sdraw.polygon(points, fill=int(mesh.materials[i]) + 1)
    _door_lines(draw, mesh, car, cam, rot, size)
    if len(mesh.antenna):
        axy, _ = cam.project(mesh.antenna @ rot.T)
        line = axy.ravel().tolist()
        thickness = max(1, round(3 * _scale(size)))
        draw.line(line, fill=(20, 20, 22), width=thickness)
        mdraw.line(line, fill=1, width=thickness)

    box = mask.getbbox()
    if box is not None:
        box = (
            max(0, box[0] - 2),
            max(0, box[1] - 2),
            min(width, box[2] + 2),
            min(height, box[3] + 2),
        )
        studio_crop = background[box[1] : box[3], box[0] : box[2]].astype(np.float32)
        crop = _gloss(
            np.asarray(photo.crop(box), dtype=np.float32), np.asarray(surface.crop(box)), rng
        )
        glass = (
            np.asarray(surface.crop(box)) == Material.GLASS + 1
        )  # tinted: the studio shows through
        crop += (
            np.float32(studio.glass) * glass[..., None] * (np.float32(0.75) * studio_crop - crop)
        )
        finished = Image.fromarray(np.clip(crop + 0.5, 0, 255).astype(np.uint8))
        if _scale(size) >= 0.5:
            # Lens softness where there are edges to soften; the studio is smooth already.
            b = studio.blur
            finished = finished.filter(
                ImageFilter.Kernel((3, 3), [1, b, 1, b, b * b, b, 1, b, 1], scale=(b + 2) ** 2)
            )
        photo.paste(finished, box[:2])
    pixels = np.asarray(photo, dtype=np.int16)
    dy, dx = rng.integers(0, _NOISE_PAD, 2)
    pixels += noise[dy : dy + height, dx : dx + width, None]
    levels = np.arange(256) / 255.0
    curve = [
        np.clip(255 * levels**studio.gamma * b + 0.5, 0, 255).astype(int) for b in studio.balance
    ]
    photo = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).point(
        np.concatenate(curve).tolist()
    )
    return photo, np.asarray(mask, dtype=np.uint8)


def _door_lines(
    draw: ImageDraw.ImageDraw,
    mesh: Mesh,
    car: Car,
    cam: Camera,
    rot: np.ndarray,
    size: tuple[int, int],
) -> None:
    """Door gaps and handles on the flank that faces the camera (inside the mask already)."""
    width = max(1, round(2 * _scale(size)))
    gap = tuple(int(c * 255 * 0.35) for c in car.paint)
    handle = tuple(int(min(255, c * 255 * 0.75 + 20)) for c in car.paint)
    handle_sides = np.repeat([1.0, -1.0], len(mesh.handles) // 2)
    for lines, sides, is_gap in (
        (mesh.seams, mesh.line_sides, True),
        (mesh.handles, handle_sides, False),
    ):
        for points, side in zip(lines, sides, strict=True):
            world = points @ rot.T
            if np.dot(rot @ np.array([0.0, 0.0, side]), cam.position - world.mean(axis=0)) <= 0:
                continue
            xy, _ = cam.project(world)
            if is_gap:
                draw.line(xy.ravel().tolist(), fill=gap, width=width)
            else:
                draw.polygon(xy.ravel().tolist(), fill=handle)


def _gloss(crop: np.ndarray, surface: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Per-pixel life on flat-shaded polygons: paint gets a top-lit gradient and
    slow, blotchy reflections; glass gets a soft diagonal streak of a softbox."""
    height, width = surface.shape
    rows = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    blotches = rng.normal(0.0, 1.0, (3, 5)).astype(np.float32)
    field = np.asarray(Image.fromarray(blotches).resize((width, height), Image.Resampling.BICUBIC))
    factor = (1.1 - 0.22 * rows) * (1.0 + 0.07 * field)
    paint = surface == Material.PAINT + 1
    crop *= np.where(paint, factor, np.float32(1.0))[..., None]
    # The clear coat mirrors the studio's horizon: bright wall above a soft line, floor below.
    horizon = rng.uniform(0.35, 0.6)
    wall = 1.0 - _smoothstep(horizon - 0.04, horizon + 0.04, rows + np.float32(0.05) * field)
    crop += (paint * np.float32(rng.uniform(20, 70)) * wall.astype(np.float32))[..., None]
    angle = rng.uniform(0.6, 1.2)
    cols = np.linspace(0.0, width / max(height, 1), width, dtype=np.float32)[None, :]
    along = cols * np.float32(np.cos(angle)) + rows * np.float32(np.sin(angle))
    centre, spread = rng.uniform(0.2, 1.2), rng.uniform(0.04, 0.12)
    streak = np.float32(70.0) * np.exp(
        -np.square((along - np.float32(centre)) / np.float32(spread))
    )
    crop += np.where(surface == Material.GLASS + 1, streak, np.float32(0.0))[..., None]
    return crop


def render_car(
    car: Car, studio: Studio, size: tuple[int, int], views: list[int], seed: list[int]
) -> Iterator[tuple[int, Image.Image, np.ndarray]]:
    """Yield (view, photo, mask) for the given 1-based views of one car.

    View ``v`` draws its jitter from ``default_rng([*seed, v])``, so a view
    looks the same whichever other views are rendered with it.  Introduced in
    chapter 1.
    """
    mesh = build_car(car)
    background = render_studio(studio, size)
    grain = np.random.default_rng([*seed, 0]).standard_normal(
        (size[0] + _NOISE_PAD, size[1] + _NOISE_PAD), np.float32
    )
    noise = np.rint(grain * studio.noise).astype(np.int16)
    for view in views:
        rng = np.random.default_rng([*seed, view])
        angle = (view - 1) * VIEW_STEP + rng.normal(0, 1.0)
        yield view, *render_view(car, mesh, studio, background, noise, angle, rng)
