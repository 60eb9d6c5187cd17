#!/usr/bin/env python3
"""torchvision reference fixtures for pixelgrad's image transforms (src/data/transforms/functional.ts).

Run from the repository root with Debian's python3-torch and python3-torchvision:

    /usr/bin/python3 tools/gen_transform_fixtures.py

Writes test/fixtures/transforms.json:

    {"generator", "torch", "torchvision", "images": {KEY: {"shape", "data", "dtype"}}, "cases": [CASE, ...]}

    CASE = {"name": unique string, "op": pixelgrad function name (camelCase),
            "input": KEY of "images", "args": {...} in pixelgrad's argument names,
            "output": {"shape", "data", "dtype"}}

Every output is torchvision.transforms.functional (v0.14 semantics) applied to a float32 tensor.
The images are seeded uniform [0, 1) tensors: A is 3x7x9 (odd sizes, RGB), B is 1x6x5 (even
height, odd width: rotations by 90 degrees put sampling points exactly on pixel boundaries),
N is a batch 2x3x5x4.  Floats are rounded to 7 significant digits (tools/fixture_json.py).
"""
import os

import torch
import torchvision
import torchvision.transforms.functional as F
from torchvision.transforms import InterpolationMode

from fixture_json import enc, write_fixture

OUT = os.path.join("test", "fixtures", "transforms.json")
torch.manual_seed(0)

IMAGES = {
    "A": torch.rand(3, 7, 9),
    "B": torch.rand(1, 6, 5),
    "N": torch.rand(2, 3, 5, 4),
}
MODE = {"nearest": InterpolationMode.NEAREST, "bilinear": InterpolationMode.BILINEAR}

cases = []


def case(name, op, key, args, out):
    cases.append({"name": name, "op": op, "input": key, "args": args, "output": enc(out)})


def img(key):
    return IMAGES[key].clone()


# ---- flips ----
for key in ["A", "B", "N"]:
    case("hflip %s" % key, "hflip", key, {}, F.hflip(img(key)))
    case("vflip %s" % key, "vflip", key, {}, F.vflip(img(key)))

# ---- crop (out-of-range areas are zero-padded) ----
for key, (t, l, h, w) in [
    ("A", (1, 2, 4, 5)), ("A", (-2, -1, 6, 8)), ("A", (3, 5, 6, 7)), ("B", (-1, -1, 8, 7)),
    ("B", (0, 0, 6, 5)), ("N", (1, -1, 3, 4)),
]:
    case("crop %s top=%d left=%d %dx%d" % (key, t, l, h, w), "crop", key,
         {"top": t, "left": l, "height": h, "width": w}, F.crop(img(key), t, l, h, w))

# ---- centerCrop (offsets rounded half to even, padding when the crop is larger) ----
for key, size in [("A", [4, 4]), ("A", [5, 6]), ("A", 3), ("A", [9, 11]), ("A", [7, 9]),
                  ("B", [4, 3]), ("B", [8, 2]), ("B", [3, 8]), ("N", [2, 3])]:
    case("centerCrop %s %s" % (key, size), "centerCrop", key, {"size": size}, F.center_crop(img(key), size))

# ---- pad ----
for key, padding, fill, mode in [
    ("A", 1, 0.5, "constant"), ("A", [1, 2], 0, "edge"), ("A", [1, 2, 3, 1], 0, "reflect"),
    ("A", [2, 3, 1, 0], 0, "symmetric"), ("B", [4], 0, "reflect"), ("B", [5, 1, 0, 6], 0, "symmetric"),
    ("A", [-1, 2, 1, -2], 0.25, "constant"), ("A", [-1, 1, 2, 0], 0, "symmetric"), ("N", [2, 1], 0, "edge"),
    ("N", [1, 0, 2, 1], 0, "reflect"),
]:
    case("pad %s %s %s fill=%s" % (key, padding, mode, fill), "pad", key,
         {"padding": padding, "fill": fill, "paddingMode": mode}, F.pad(img(key), padding, fill, mode))

# ---- resize ----
for key, size, interp, aa in [
    ("A", [5, 6], "bilinear", False), ("A", [10, 13], "bilinear", False), ("A", [5, 6], "nearest", False),
    ("A", [14, 18], "nearest", False), ("A", [11, 4], "nearest", False), ("A", 4, "bilinear", False),
    ("A", 4, "nearest", False), ("B", 8, "bilinear", False), ("B", [3, 2], "bilinear", False),
    ("B", [13, 3], "nearest", False), ("N", [3, 7], "bilinear", False), ("A", [4, 5], "bilinear", True),
    ("B", [3, 2], "bilinear", True), ("A", [9, 12], "bilinear", True), ("A", [3, 14], "bilinear", True),
]:
    case("resize %s %s %s%s" % (key, size, interp, " antialias" if aa else ""), "resize", key,
         {"size": size, "interpolation": interp, "antialias": aa},
         F.resize(img(key), size, MODE[interp], antialias=aa))

# ---- resizedCrop ----
for key, (t, l, h, w), size, interp in [
    ("A", (1, 2, 5, 6), [4, 4], "bilinear"), ("A", (-1, -1, 9, 11), [6, 6], "nearest"),
    ("B", (2, 1, 3, 3), 7, "bilinear"),
]:
    case("resizedCrop %s %s -> %s %s" % (key, (t, l, h, w), size, interp), "resizedCrop", key,
         {"top": t, "left": l, "height": h, "width": w, "size": size, "interpolation": interp},
         F.resized_crop(img(key), t, l, h, w, size, MODE[interp]))

# ---- rotate (counter-clockwise, about the centre or `center`, optional expand and fill) ----
for key, angle, interp, expand, center, fill in [
    ("A", 30, "nearest", False, None, None), ("A", -45, "bilinear", False, None, None),
    ("A", 90, "nearest", False, None, None), ("A", 90, "nearest", True, None, None),
    ("A", 30, "bilinear", True, None, None), ("A", -30, "bilinear", False, [2, 3], None),
    ("A", 60, "nearest", False, None, [0.2, 0.5, 0.9]), ("A", 17, "bilinear", False, None, 1.0),
    ("A", 17, "bilinear", False, None, 0.0), ("A", -75, "nearest", True, [1, 5], [0.3]),
    ("B", 90, "nearest", False, None, None), ("B", 45, "bilinear", True, None, [0.0]),
    ("B", 180, "nearest", False, None, None), ("B", -120, "bilinear", True, [1, 1], 0.5),
    ("B", 270, "bilinear", False, None, None), ("N", 25, "bilinear", False, None, None),
    ("N", -10, "nearest", True, None, 0.7),
]:
    args = {"angle": angle, "interpolation": interp, "expand": expand}
    if center is not None:
        args["center"] = center
    if fill is not None:
        args["fill"] = fill
    out = F.rotate(img(key), angle, MODE[interp], expand, center, fill)
    case("rotate %s %s %s%s%s%s" % (key, angle, interp, " expand" if expand else "",
                                    " center=%s" % center if center else "", " fill=%s" % fill if fill is not None else ""),
         "rotate", key, args, out)

# ---- affine (angle clockwise as in torchvision's affine; translate in pixels; shear [sx, sy] degrees) ----
for key, angle, translate, scale, shear, interp, fill, center in [
    ("A", 0, [2, -1], 1.0, [0, 0], "nearest", None, None),
    ("A", 30, [1, 1], 0.8, [10, 0], "bilinear", None, None),
    ("A", -20, [0, 0], 1.3, [5, -8], "bilinear", 0.5, None),
    ("A", 45, [0, 0], 1.0, [0, 15], "nearest", [1.0, 0.0, 0.5], None),
    ("A", 30, [0, 0], 1.0, [0, 0], "bilinear", None, [1, 2]),
    ("A", 0, [0, 0], 1.0, [25, 0], "bilinear", 0.0, None),
    ("A", 12, [-2, 1], 1.1, [-12, 6], "nearest", None, [6, 1]),
    ("B", 10, [-1, 2], 0.7, [20, 0], "nearest", None, None),
    ("B", 90, [0, 0], 1.2, [0, 0], "bilinear", 0.0, None),
    ("B", -35, [1, 0], 0.9, [0, -10], "bilinear", None, None),
    ("N", 15, [1, -1], 0.9, [5, 5], "bilinear", 0.25, None),
]:
    args = {"angle": angle, "translate": translate, "scale": scale, "shear": shear, "interpolation": interp}
    if fill is not None:
        args["fill"] = fill
    if center is not None:
        args["center"] = center
    out = F.affine(img(key), angle, translate, scale, shear, MODE[interp], fill, center)
    case("affine %s angle=%s t=%s s=%s shear=%s %s%s%s" % (key, angle, translate, scale, shear, interp,
                                                            " fill=%s" % fill if fill is not None else "",
                                                            " center=%s" % center if center else ""),
         "affine", key, args, out)

# ---- photometric ----
for key, f in [("A", 0.5), ("A", 1.7), ("B", 0.0), ("N", 1.3)]:
    case("adjustBrightness %s %s" % (key, f), "adjustBrightness", key, {"factor": f}, F.adjust_brightness(img(key), f))
for key, f in [("A", 0.3), ("A", 1.8), ("B", 1.5), ("N", 0.6)]:
    case("adjustContrast %s %s" % (key, f), "adjustContrast", key, {"factor": f}, F.adjust_contrast(img(key), f))
for key, f in [("A", 0.0), ("A", 0.4), ("A", 2.2), ("B", 1.5), ("N", 1.7)]:
    case("adjustSaturation %s %s" % (key, f), "adjustSaturation", key, {"factor": f}, F.adjust_saturation(img(key), f))
for key, f in [("A", 0.2), ("A", -0.35), ("A", 0.5), ("B", 0.1), ("N", -0.1)]:
    case("adjustHue %s %s" % (key, f), "adjustHue", key, {"factor": f}, F.adjust_hue(img(key), f))
for key, gamma, gain in [("A", 0.5, 1.0), ("A", 2.2, 1.0), ("A", 1.3, 1.2), ("B", 0.8, 0.7)]:
    case("adjustGamma %s gamma=%s gain=%s" % (key, gamma, gain), "adjustGamma", key, {"gamma": gamma, "gain": gain},
         F.adjust_gamma(img(key), gamma, gain))

# ---- gaussianBlur (kernelSize [kx, ky], sigma [sx, sy]; reflect padding) ----
for key, k, sigma in [("A", 3, None), ("A", [5, 3], [1.0, 0.5]), ("A", 5, 2.0), ("B", 3, 0.3),
                      ("B", [1, 5], [1.0, 1.5]), ("A", 7, 1.5), ("N", [3, 1], None)]:
    args = {"kernelSize": k}
    if sigma is not None:
        args["sigma"] = sigma
    case("gaussianBlur %s k=%s sigma=%s" % (key, k, sigma), "gaussianBlur", key, args, F.gaussian_blur(img(key), k, sigma))

# ---- normalize, erase, grayscale ----
for key, mean, std in [("A", [0.5, 0.4, 0.3], [0.2, 0.3, 0.25]), ("B", [0.5], [0.5]), ("N", [0.1, 0.2, 0.3], [1.5, 0.5, 2.0]),
                       ("A", [0.45], [0.2])]:
    case("normalize %s %s %s" % (key, mean, std), "normalize", key, {"mean": mean, "std": std}, F.normalize(img(key), mean, std))
for key, (i, j, h, w), v in [("A", (1, 2, 3, 4), 0.5), ("A", (2, 3, 10, 10), [0.1, 0.2, 0.3]), ("B", (0, 0, 2, 2), 0.0),
                             ("N", (1, 1, 2, 2), [0.9])]:
    vt = torch.tensor(v if isinstance(v, list) else [v])[:, None, None]
    case("erase %s %s value=%s" % (key, (i, j, h, w), v), "erase", key, {"i": i, "j": j, "h": h, "w": w, "value": v},
         F.erase(img(key), i, j, h, w, vt))
for key, n in [("A", 1), ("A", 3), ("B", 1), ("N", 1)]:
    case("toGrayscale %s %d" % (key, n), "toGrayscale", key, {"numOutputChannels": n}, F.rgb_to_grayscale(img(key), n))

write_fixture(OUT, "tools/gen_transform_fixtures.py", cases, torchvision=torchvision.__version__,
              images={k: enc(v) for k, v in IMAGES.items()})
