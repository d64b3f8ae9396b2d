"""Draw the site's raster images with Pillow (run again after changing colours or text).

    .venv/bin/python scripts/make_images.py

Writes content/images/default-card.png (the 1200x630 social card used when a
post has no Image) and content/images/porch-channels.png (the diagram in
"The Website Is the Front Porch"). Uses Pillow's bundled font, so the result
is the same on every machine.
"""

from __future__ import annotations

import math
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parents[1]
IMAGES = ROOT / "content" / "images"

PAPER = (251, 248, 243)
INK = (42, 36, 32)
BRICK = (153, 54, 27)
BRICK_DARK = (110, 36, 17)
SOFT = (246, 228, 220)
MUTED = (95, 85, 77)


def font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.load_default(size)


def house(draw: ImageDraw.ImageDraw, x: int, y: int, size: int, colour, width: int) -> None:
    """The site's mark: a roof and a door, drawn inside a size x size box at (x, y)."""
    s = size / 32
    roof = [(x + 4 * s, y + 15 * s), (x + 16 * s, y + 5 * s), (x + 28 * s, y + 15 * s)]
    draw.line(roof, fill=colour, width=width, joint="curve")
    draw.line(
        [
            (x + 4 * s, y + 15 * s),
            (x + 4 * s, y + 27 * s),
            (x + 28 * s, y + 27 * s),
            (x + 28 * s, y + 15 * s),
        ],
        fill=colour,
        width=width,
        joint="curve",
    )
    draw.line(
        [
            (x + 11 * s, y + 27 * s),
            (x + 11 * s, y + 19 * s),
            (x + 21 * s, y + 19 * s),
            (x + 21 * s, y + 27 * s),
        ],
        fill=colour,
        width=width,
    )


def default_card(path: Path) -> None:
    img = Image.new("RGB", (1200, 630), BRICK)
    draw = ImageDraw.Draw(img)
    draw.rectangle([0, 560, 1200, 630], fill=BRICK_DARK)
    house(draw, 90, 110, 150, PAPER, 12)
    draw.text((90, 300), "Front Porch Notes", font=font(92), fill=PAPER)
    draw.text((94, 415), "Talking with customers, not at them", font=font(44), fill=SOFT)
    draw.text(
        (94, 578),
        "email · social media · a website that ties them together",
        font=font(30),
        fill=SOFT,
    )
    img.save(path, optimize=True)


def _box(draw, centre, label, w=320, h=110, fill=SOFT, outline=BRICK, text=INK, size=34):
    cx, cy = centre
    draw.rounded_rectangle(
        [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2],
        radius=22,
        fill=fill,
        outline=outline,
        width=4,
    )
    f = font(size)
    left, top, right, bottom = draw.textbbox((0, 0), label, font=f)
    draw.text((cx - (right - left) / 2, cy - (bottom - top) / 2 - top), label, font=f, fill=text)


def _arrow_head(draw, tip, angle, colour):
    length, spread = 22, math.radians(28)
    points = [tip]
    for sign in (-1, 1):
        a = angle + math.pi + sign * spread
        points.append((tip[0] + length * math.cos(a), tip[1] + length * math.sin(a)))
    draw.polygon(points, fill=colour)


def _edge(angle, w, h, margin=14):
    """Distance from a w x h box's centre to its edge along `angle`, plus a margin."""
    c, s = abs(math.cos(angle)), abs(math.sin(angle))
    return min((w / 2) / c if c else math.inf, (h / 2) / s if s else math.inf) + margin


def _two_way(draw, a, b, colour, size_a, size_b):
    """A double-headed arrow between two boxes' centres, stopping at each box's edge."""
    angle = math.atan2(b[1] - a[1], b[0] - a[0])
    gap_a, gap_b = _edge(angle, *size_a), _edge(angle, *size_b)
    start = (a[0] + gap_a * math.cos(angle), a[1] + gap_a * math.sin(angle))
    end = (b[0] - gap_b * math.cos(angle), b[1] - gap_b * math.sin(angle))
    draw.line([start, end], fill=colour, width=6)
    _arrow_head(draw, end, angle, colour)
    _arrow_head(draw, start, angle + math.pi, colour)


def channels_diagram(path: Path) -> None:
    img = Image.new("RGB", (1200, 710), PAPER)
    draw = ImageDraw.Draw(img)
    centre = (600, 350)
    outer = {
        "Email newsletter": (210, 110),
        "Twitter": (990, 110),
        "Facebook page": (210, 590),
        "Blog & comments": (990, 590),
    }
    for pos in outer.values():
        _two_way(draw, centre, pos, MUTED, (340, 150), (320, 110))
    _box(
        draw,
        centre,
        "Your website",
        w=340,
        h=150,
        fill=BRICK,
        outline=BRICK_DARK,
        text=PAPER,
        size=44,
    )
    for label, pos in outer.items():
        _box(draw, pos, label)
    draw.text(
        (600, 680),
        "Every channel leads home, and home points back to every channel",
        font=font(26),
        fill=MUTED,
        anchor="mm",
    )
    img.save(path, optimize=True)


def main() -> None:
    IMAGES.mkdir(parents=True, exist_ok=True)
    default_card(IMAGES / "default-card.png")
    channels_diagram(IMAGES / "porch-channels.png")
    for name in ("default-card.png", "porch-channels.png"):
        with Image.open(IMAGES / name) as im:
            print(f"{name}: {im.size[0]}x{im.size[1]}")


if __name__ == "__main__":
    main()
