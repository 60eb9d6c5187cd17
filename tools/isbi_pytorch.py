#!/usr/bin/env python3
"""The PyTorch twin of a pixelgrad segmentation run (the ISBI 2012 membranes), for side-by-side scores.

Run from the repository root with the system interpreter (Debian's python3-torch, python3-scipy):

    npm run pixelgrad -- train --task segment --model unet --dataset DATA ... --out runs/isbi
    /usr/bin/python3 tools/isbi_pytorch.py runs/isbi [--seed 1] [--out runs/isbi/pytorch.json]

It trains the same U-Net (examples/pytorch/pixelgrad_models.py) on the same images as the pixelgrad
run in the given folder (its config.json gives the recipe, its summary.json the split by file)
with the same recipe as `pixelgrad train --task segment`:
- per epoch, round(H·W / crop²) random crops per training image, shuffled, in batches;
- per crop: a uniformly placed crop, horizontal and vertical flips (p = 0.5 each) unless
  augment is 'none', and with augment 'elastic' a displacement field of 3×3 N(0, 10²) vectors
  interpolated by Keys' bicubic kernel (as paired.elastic), the image and the weight map sampled
  bilinearly and the mask by nearest neighbour, mirrored at the borders (scipy's map_coordinates);
- the U-Net weight map (w0 = 10, sigma = 5, balanced class weights) of each whole mask, computed
  once with scipy's distance transform and cropped and deformed with the image;
- cross entropy weighted by the map, plus the foreground's soft Dice (two classes; else the mean
  over the classes but the background); Adam with the one-cycle schedule (PyTorch's OneCycleLR,
  whose defaults pixelgrad's matches);
- after every epoch, the whole validation images by overlap-tile (tiles of the crop size, a
  quarter of it as mirrored context), scored by pooled pixel counts: foreground Dice, mean IoU and
  the ISBI 2012 V_rand (the same references as the fixtures in tools/gen_seg_fixtures.py).

With --pixelgrad-masks DIR (the *-mask.png files of `pixelgrad predict` on the validation images),
it also scores pixelgrad's own predictions with these Python metrics, a check of both sides' scoring.
"""

import argparse
import json
import os
import sys
import time

import numpy as np
import scipy.ndimage as ndi
import torch
from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples", "pytorch"))
from gen_seg_fixtures import ce_ref, dice_ref, rand_ref, weight_map  # noqa: E402
from pixelgrad_models import create_model  # noqa: E402

IMAGE_DIRS, MASK_DIRS = ["image", "images", "img", "imgs"], ["label", "labels", "mask", "masks"]


def pair_dirs(root):
    find = lambda names: next((os.path.join(root, d) for d in names if os.path.isdir(os.path.join(root, d))), None)
    images, masks = find(IMAGE_DIRS), find(MASK_DIRS)
    return (images, masks) if images and masks else None


def load_pairs(dataset, names, classes):
    """Images as float32 [1,H,W] in [0, 1] and masks of class indices, by file name (pixelgrad's split)."""
    dirs = [d for d in (pair_dirs(dataset), pair_dirs(os.path.join(dataset, "train")), pair_dirs(os.path.join(dataset, "val")),
                        pair_dirs(os.path.join(dataset, "test"))) if d]
    lut = {int(c): i for i, c in enumerate(classes)}
    pairs = []
    for name in names:
        images, masks = next(d for d in dirs if os.path.exists(os.path.join(d[0], name)))
        image = np.asarray(Image.open(os.path.join(images, name)).convert("L"), dtype=np.float32)[None] / 255
        stem = os.path.splitext(name)[0]
        mask_file = next(f for f in sorted(os.listdir(masks)) if os.path.splitext(f)[0] == stem)
        mask = np.vectorize(lut.__getitem__)(np.asarray(Image.open(os.path.join(masks, mask_file))))
        pairs.append((image, mask.astype(np.int64)))
    return pairs


def keys_matrix(n, g):
    """[n, g]: Keys' cubic (a = -0.5) interpolation of g grid points spanning n pixels, corner to corner."""
    a = -0.5

    def k(x):
        x = np.abs(x)
        return np.where(x <= 1, ((a + 2) * x - (a + 3)) * x * x + 1, np.where(x < 2, ((a * x - 5 * a) * x + 8 * a) * x - 4 * a, 0.0))

    u = np.arange(n) * (g - 1) / (n - 1)
    i = np.floor(u).astype(int)
    t = u - i
    m = np.zeros((n, g))
    for tap, wt in enumerate([k(t + 1), k(t), k(1 - t), k(2 - t)]):
        np.add.at(m, (np.arange(n), np.clip(i - 1 + tap, 0, g - 1)), wt)
    return m


def elastic(planes, mask, rng, sigma=10.0, grid=3):
    """paired.elastic: planes [P,h,w] bilinear, mask [h,w] nearest, both mirrored at the borders."""
    _, h, w = planes.shape
    mh, mw = keys_matrix(h, grid), keys_matrix(w, grid)
    # pixelgrad draws the whole x grid, then the whole y grid, row-major.
    dx = mh @ (sigma * rng.standard_normal((grid, grid))) @ mw.T
    dy = mh @ (sigma * rng.standard_normal((grid, grid))) @ mw.T
    yy, xx = np.mgrid[0:h, 0:w]
    at = [yy + dy, xx + dx]
    warped = np.stack([ndi.map_coordinates(p, at, order=1, mode="mirror") for p in planes])
    return warped, ndi.map_coordinates(mask, at, order=0, mode="mirror")


def augment(planes, mask, crop, kind, rng):
    """randomCrop, then flips, then elastic deformation, as segment-task.ts composes them."""
    if crop:
        _, h, w = planes.shape
        top, left = rng.integers(0, h - crop + 1), rng.integers(0, w - crop + 1)
        planes, mask = planes[:, top:top + crop, left:left + crop], mask[top:top + crop, left:left + crop]
    if kind != "none":
        if rng.random() < 0.5:
            planes, mask = planes[:, :, ::-1], mask[:, ::-1]
        if rng.random() < 0.5:
            planes, mask = planes[:, ::-1, :], mask[::-1, :]
    if kind == "elastic":
        planes, mask = elastic(np.ascontiguousarray(planes), np.ascontiguousarray(mask), rng)
    elif kind == "affine":
        raise SystemExit("isbi_pytorch: --augment affine has no twin here (use elastic or none)")
    return np.ascontiguousarray(planes), np.ascontiguousarray(mask)


def predict_tiled(model, image, tile, margin, batch=8):
    """predictTiled: logits [K,H,W] from tiles of the image mirrored at its borders, each tile's core kept."""
    _, h, w = image.shape
    core = tile - 2 * margin
    ny, nx = -(-h // core), -(-w // core)
    padded = np.pad(image, ((0, 0), (margin, ny * core + margin - h), (margin, nx * core + margin - w)), mode="reflect")
    origins = [(oy, ox) for oy in range(0, ny * core, core) for ox in range(0, nx * core, core)]
    out = None
    with torch.no_grad():
        for b in range(0, len(origins), batch):
            part = origins[b:b + batch]
            x = torch.from_numpy(np.stack([padded[:, oy:oy + tile, ox:ox + tile] for oy, ox in part]))
            y = model(x).numpy()
            if out is None:
                out = np.zeros((y.shape[1], ny * core, nx * core), dtype=np.float32)
            for (oy, ox), t in zip(part, y):
                out[:, oy:oy + core, ox:ox + core] = t[:, margin:margin + core, margin:margin + core]
    return out[:, :h, :w]


def scores(predicted, truths, classes):
    """Pooled confusion over the images: per-class IoU and Dice, and for two classes V_rand."""
    k = classes
    m = np.zeros((k, k), dtype=np.int64)
    for p, t in zip(predicted, truths):
        m += np.bincount(t.reshape(-1) * k + p.reshape(-1), minlength=k * k).reshape(k, k)
    tp = np.diag(m).astype(np.float64)
    fp, fn = m.sum(0) - tp, m.sum(1) - tp
    iou, dice = tp / (tp + fp + fn), 2 * tp / (2 * tp + fp + fn)
    out = {"meanIoU": float(np.nanmean(iou)), "meanDice": float(np.nanmean(dice)), "pixelAccuracy": float(tp.sum() / m.sum()),
           "perClass": [{"iou": float(a), "dice": float(b)} for a, b in zip(iou, dice)]}
    if k == 2:
        out["foregroundDice"] = float(dice[1])
        r = rand_ref(np.stack(predicted), np.stack(truths))
        out.update(vRand=r["vRand"], vRandSplit=r["split"], vRandMerge=r["merge"])
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("run", help="a pixelgrad segmentation run folder (config.json and summary.json)")
    ap.add_argument("--dataset", help="the dataset folder (default: the run's, relative to the current folder)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the initialisation, shuffling and augmentation")
    ap.add_argument("--epochs", type=int, help="default: the run's")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--out", help="write the scores and times as JSON here")
    ap.add_argument("--pixelgrad-masks", help="a folder of pixelgrad predict's <name>-mask.png for the validation images: score them too")
    args = ap.parse_args()

    config = json.load(open(os.path.join(args.run, "config.json")))
    split = json.load(open(os.path.join(args.run, "summary.json")))["split"]
    dataset = args.dataset or config["dataset"]
    classes, crop, epochs = config["classes"], config.get("crop"), args.epochs or config["epochs"]
    if config["task"] != "segment" or config["model"] != "unet":
        raise SystemExit("isbi_pytorch: %s is not a U-Net segmentation run" % args.run)
    train, val = load_pairs(dataset, split["train"], classes), load_pairs(dataset, split["validation"], classes)
    truths = [m for _, m in val]

    if args.pixelgrad_masks:
        theirs = [np.asarray(Image.open(os.path.join(args.pixelgrad_masks, os.path.splitext(n)[0] + "-mask.png"))).astype(np.int64)
                  for n in split["validation"]]
        print("pixelgrad's masks, Python scores:", json.dumps(scores(theirs, truths, len(classes))))

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(args.seed)
    model = create_model(config)
    cpu0, wall0 = time.process_time(), time.time()
    weights = [weight_map(m).astype(np.float32) if config.get("weightMap") else None for _, m in train]
    h, w = train[0][0].shape[1:]
    repeats = max(1, round(h * w / crop ** 2)) if crop else 1
    items, batch = len(train) * repeats, config["batchSize"]
    steps = -(-items // batch)
    if config["optimizer"] != "adam" or config.get("weightDecay"):
        raise SystemExit("isbi_pytorch: only Adam without weight decay is twinned")
    opt = torch.optim.Adam(model.parameters(), lr=config["lr"])
    sched = {"onecycle": lambda: torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=config["lr"], epochs=epochs, steps_per_epoch=steps),
             "cosine": lambda: torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs * steps),
             "none": lambda: None}[config["schedule"]]()
    k = len(classes)
    dice_options = {"class_index": 1} if k == 2 else {"include_background": False}
    kind = config.get("loss") or "ce"

    def loss_fn(x, t, wmap):
        ce = lambda: ce_ref(x, t, weight_map=wmap)
        return {"ce": ce, "dice": lambda: dice_ref(x, t, **dice_options), "ce+dice": lambda: ce() + dice_ref(x, t, **dice_options)}[kind]()

    tile, margin = (crop, crop // 4) if crop else (h, 0)
    history = []
    for epoch in range(1, epochs + 1):
        model.train()
        order = rng.permutation(items)
        total = 0.0
        for b in range(0, items, batch):
            xs, ts, ws = [], [], []
            for i in order[b:b + batch]:
                image, mask = train[i % len(train)]
                planes = np.concatenate([image, weights[i % len(train)][None]]) if weights[0] is not None else image
                planes, mask = augment(planes, mask, crop, config["augment"], rng)
                xs.append(planes[:1])
                ts.append(mask)
                ws.append(planes[1])
            x, t = torch.from_numpy(np.stack(xs)), torch.from_numpy(np.stack(ts))
            wmap = torch.from_numpy(np.stack(ws)) if weights[0] is not None else None
            loss = loss_fn(model(x), t, wmap)
            opt.zero_grad()
            loss.backward()
            opt.step()
            if sched:
                sched.step()
            total += loss.item() * len(xs)
        model.eval()
        predicted = [predict_tiled(model, image, tile, margin).argmax(0) for image, _ in val]
        s = scores(predicted, truths, k)
        history.append({"epoch": epoch, "loss": total / items, **{key: s[key] for key in ("meanIoU", "foregroundDice", "vRand") if key in s}})
        print(json.dumps(history[-1]), flush=True)
    result = {**s, "seed": args.seed, "epochs": epochs, "threads": args.threads, "wallSeconds": time.time() - wall0,
              "cpuSeconds": time.process_time() - cpu0, "torch": torch.__version__, "history": history}
    print(json.dumps({key: v for key, v in result.items() if key != "history"}))
    if args.out:
        with open(args.out, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
