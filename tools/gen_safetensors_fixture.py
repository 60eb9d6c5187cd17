"""Writes the safetensors fixtures read by test/safetensors.test.ts, from PyTorch tensors.

  test/fixtures/reference.safetensors  F64 scalar, F32 [2,3], F32 [3], F32 [0] (empty), I32 [4],
                                       and __metadata__ {"format": "pt"}
  test/fixtures/convert.safetensors    F16 [5], BF16 [3], I64 [3] (the dtypes pixelgrad converts)

With the `safetensors` package (safetensors.torch.save) when it is installed; otherwise by hand,
following the format and the reference writer's choices exactly: tensors sorted by descending dtype
alignment, then by name (UTF-8 bytes); the header is compact JSON, "__metadata__" first, each entry
{"dtype","shape","data_offsets"}, padded with spaces to a multiple of 8 bytes; then the raw
little-endian data. When both are available the two are checked to agree byte for byte. Each file
is read back here (by hand) and compared with the tensors. The test asserts that pixelgrad's writer
produces reference.safetensors byte for byte from the same tensors (their values are in the test).

Run: /usr/bin/python3 tools/gen_safetensors_fixture.py
"""
import json
import math
import os
import struct

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "test", "fixtures")

# The format's dtypes in the reference's order (increasing alignment); the writer sorts by descending rank.
RANK = ["BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "F64", "I64", "U64"]
CODES = {
    torch.float64: ("F64", "<f8"),
    torch.float32: ("F32", "<f4"),
    torch.float16: ("F16", "<f2"),
    torch.bfloat16: ("BF16", None),
    torch.int64: ("I64", "<i8"),
    torch.int32: ("I32", "<i4"),
}


def raw(t):
    code, np_dtype = CODES[t.dtype]
    t = t.detach().contiguous()
    if code == "BF16":
        return code, t.view(torch.int16).numpy().astype("<i2").tobytes()
    return code, t.numpy().astype(np_dtype).tobytes()


def serialize_by_hand(tensors, metadata=None):
    items = []
    for name, t in tensors.items():
        code, data = raw(t)
        items.append((name, t, code, data))
    items.sort(key=lambda it: (-RANK.index(it[2]), it[0].encode("utf-8")))
    header = {}
    if metadata is not None:
        header["__metadata__"] = metadata
    offset = 0
    for name, t, code, data in items:
        header[name] = {"dtype": code, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
    h = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(it[3] for it in items)


def serialize(tensors, metadata=None):
    by_hand = serialize_by_hand(tensors, metadata)
    try:
        from safetensors.torch import save  # type: ignore
    except ImportError:
        return by_hand, "by hand (the safetensors package is not installed)"
    out = save(tensors, metadata=metadata)
    assert out == by_hand, "safetensors.torch.save and the hand-written serializer disagree"
    return out, "safetensors.torch.save (checked against the hand-written serializer)"


def read_back(data):
    """An independent reader: the tensors of a file, with the format's checks."""
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n].decode("utf-8"))
    metadata = header.pop("__metadata__", None)
    body = data[8 + n:]
    pos = 0
    out = {}
    for name, info in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"]):
        b, e = info["data_offsets"]
        assert b == pos, f"{name}: gap or overlap"
        pos = e
        code = info["dtype"]
        dtype = {v[0]: k for k, v in CODES.items()}[code]
        chunk = bytearray(body[b:e])
        if code == "BF16":
            t = torch.frombuffer(chunk, dtype=torch.int16).view(torch.bfloat16) if chunk else torch.empty(0, dtype=dtype)
        else:
            t = torch.frombuffer(chunk, dtype=dtype) if chunk else torch.empty(0, dtype=dtype)
        out[name] = t.reshape(info["shape"])
    assert pos == len(body), "the data region is not fully covered"
    return out, metadata


def write(path, tensors, metadata=None):
    data, how = serialize(tensors, metadata)
    back, meta = read_back(data)
    assert meta == metadata
    assert set(back) == set(tensors)
    for k, t in tensors.items():
        assert back[k].dtype == t.dtype and back[k].shape == t.shape and torch.equal(back[k], t), k
    with open(path, "wb") as f:
        f.write(data)
    print(f"wrote {os.path.relpath(path)} ({len(data)} bytes) {how}")


def main():
    os.makedirs(OUT, exist_ok=True)
    # Keep these values in step with test/safetensors.test.ts, which serialises the same tensors.
    reference = {
        "layer.weight": torch.tensor([[0.1, -2.0, 3.5], [1e-8, -0.0, 65504.0]], dtype=torch.float32),
        "layer.bias": torch.tensor([0.25, -1.5, 1e30], dtype=torch.float32),
        "empty": torch.zeros((0,), dtype=torch.float32),
        "labels.ñ": torch.tensor([-2147483648, 0, 7, 2147483647], dtype=torch.int32),
        "scale": torch.tensor(math.pi, dtype=torch.float64),
    }
    # One metadata key: the reference writer keeps metadata in a hash map, so its key order is unspecified.
    write(os.path.join(OUT, "reference.safetensors"), reference, {"format": "pt"})

    convert = {
        "half": torch.tensor([1.0, -2.5, 65504.0, 2.0 ** -24, float("inf")], dtype=torch.float16),
        "brain": torch.tensor([1.5, -3.140625, 2.0 ** 100], dtype=torch.bfloat16),
        "count": torch.tensor([-(2 ** 31), 5, 2 ** 31 - 1], dtype=torch.int64),
    }
    write(os.path.join(OUT, "convert.safetensors"), convert)


if __name__ == "__main__":
    main()
