"""pixelgrad's built-in architectures in PyTorch, with the same parameter names, and the
safetensors format read and written with a few lines of Python (no extra package).

    from pixelgrad_models import model_from_checkpoint, save_safetensors
    model, config = model_from_checkpoint("run/checkpoint.safetensors")

A pixelgrad checkpoint is one safetensors file: the model's state dict under `model.<name>`, the
run configuration (architecture, input shape, classes) in the `pixelgrad` metadata entry.
"""
import json
import struct

import torch
import torch.nn as nn
import torch.nn.functional as F

DTYPES = {"F32": torch.float32, "F64": torch.float64, "I32": torch.int32, "I64": torch.int64}
NAMES = {v: k for k, v in DTYPES.items()}


def load_safetensors(path):
    """(tensors by name, metadata strings) of a safetensors file: u64 header length, JSON header, raw data."""
    with open(path, "rb") as fh:
        (n,) = struct.unpack("<Q", fh.read(8))
        header = json.loads(fh.read(n))
        data = fh.read()
    meta = header.pop("__metadata__", {})
    tensors = {}
    for name, e in header.items():
        begin, end = e["data_offsets"]
        t = torch.frombuffer(bytearray(data[begin:end]), dtype=DTYPES[e["dtype"]]) if end > begin else torch.empty(0, dtype=DTYPES[e["dtype"]])
        tensors[name] = t.reshape(e["shape"])
    return tensors, meta


def save_safetensors(path, tensors, metadata=None):
    """Writes tensors (float32/float64/int32/int64) as safetensors, the data 8-byte aligned."""
    header, offset, chunks = {}, 0, []
    if metadata:
        header["__metadata__"] = metadata
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous().cpu()
        raw = t.numpy().tobytes()
        header[name] = {"dtype": NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as fh:
        fh.write(struct.pack("<Q", len(text)) + text + b"".join(chunks))


class LeNet5(nn.Module):
    def __init__(self, in_channels=1, num_classes=10, input_size=28, width=1.0):
        super().__init__()
        side = ((input_size // 2) - 4) // 2
        c1, c2, h1, h2 = [max(1, round(n * width)) for n in (6, 16, 120, 84)]
        self.conv1 = nn.Conv2d(in_channels, c1, 5, padding=2)
        self.conv2 = nn.Conv2d(c1, c2, 5)
        self.fc1 = nn.Linear(c2 * side * side, h1)
        self.fc2 = nn.Linear(h1, h2)
        self.fc3 = nn.Linear(h2, num_classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = F.relu(self.fc1(torch.flatten(x, 1)))
        return self.fc3(F.relu(self.fc2(x)))


class BasicBlock(nn.Module):
    def __init__(self, in_planes, planes, stride, kind):
        super().__init__()
        self.in_planes, self.planes, self.stride = in_planes, planes, stride
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        reshapes = stride != 1 or in_planes != planes
        self.shortcut = nn.Sequential(nn.Conv2d(in_planes, planes, 1, stride=stride, bias=False), nn.BatchNorm2d(planes)) if reshapes and kind == "B" else None

    def forward(self, x):
        out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(out + self.skip(x))

    def skip(self, x):
        if self.shortcut is not None:
            return self.shortcut(x)
        if self.stride == 1 and self.in_planes == self.planes:
            return x
        sub = x[:, :, ::self.stride, ::self.stride]
        extra = self.planes - self.in_planes
        return F.pad(sub, (0, 0, 0, 0, extra >> 1, extra - (extra >> 1)))


class ResNet(nn.Module):
    def __init__(self, depth=20, in_channels=3, num_classes=10, widths=(16, 32, 64), kind="A"):
        super().__init__()
        n = (depth - 2) // 6
        w1, w2, w3 = widths
        self.conv1 = nn.Conv2d(in_channels, w1, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(w1)

        def stage(in_planes, planes, stride):
            return nn.Sequential(*[BasicBlock(in_planes if i == 0 else planes, planes, stride if i == 0 else 1, kind) for i in range(n)])
        self.layer1, self.layer2, self.layer3 = stage(w1, w1, 1), stage(w1, w2, 2), stage(w2, w3, 2)
        self.fc = nn.Linear(w3, num_classes)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def double_conv(in_c, out_c, bn):
    layers = []
    for a, b in ((in_c, out_c), (out_c, out_c)):
        layers.append(nn.Conv2d(a, b, 3, padding=1, bias=not bn))
        if bn:
            layers.append(nn.BatchNorm2d(b))
        layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class UNet(nn.Module):
    def __init__(self, in_channels=1, num_classes=2, widths=(16, 32, 64), batch_norm=False):
        super().__init__()
        enc = list(widths[:-1])
        self.encoders = nn.ModuleList([double_conv(in_channels if i == 0 else enc[i - 1], w, batch_norm) for i, w in enumerate(enc)])
        self.bottleneck = double_conv(enc[-1], widths[-1], batch_norm)
        rev = enc[::-1]
        self.ups = nn.ModuleList([nn.ConvTranspose2d(widths[-1] if i == 0 else rev[i - 1], w, 2, stride=2) for i, w in enumerate(rev)])
        self.decoders = nn.ModuleList([double_conv(2 * w, w, batch_norm) for w in rev])
        self.head = nn.Conv2d(widths[0], num_classes, 1)

    def forward(self, x):
        skips = []
        for enc in self.encoders:
            x = enc(x)
            skips.append(x)
            x = F.max_pool2d(x, 2)
        x = self.bottleneck(x)
        for i, (up, dec) in enumerate(zip(self.ups, self.decoders)):
            x = dec(torch.cat([up(x), skips[-1 - i]], 1))
        return self.head(x)


def create_model(config):
    """The architecture a pixelgrad run configuration names (config['model'], 'inputShape', 'classes')."""
    name, (c, size, _), k = config["model"], config["inputShape"], len(config["classes"])
    if name == "lenet5":
        return LeNet5(c, k, size, config.get("width") or 1.0)
    if name.startswith("resnet"):
        return ResNet(int(name[len("resnet"):]), c, k)
    if name == "unet":
        depth, width = config.get("unetDepth") or 3, config.get("unetWidth") or 16
        return UNet(c, k, [width * 2 ** i for i in range(depth)], batch_norm=True)  # as pixelgrad's createModel
    raise SystemExit("pixelgrad_models: no PyTorch definition of '%s' (lenet5, resnetN and unet have one)" % name)


def load_state(model, tensors):
    """Loads a pixelgrad state dict (int32 counters become PyTorch's int64); every key must match."""
    state = {k: (v.to(torch.int64) if v.dtype == torch.int32 else v) for k, v in tensors.items()}
    model.load_state_dict(state, strict=True)
    return model


def model_from_checkpoint(path):
    """(model with the checkpoint's weights, run configuration) of a pixelgrad checkpoint."""
    tensors, meta = load_safetensors(path)
    config = json.loads(meta["pixelgrad"])["config"]
    model = create_model(config)
    return load_state(model, {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}), config
