"""Reader for the IDX format of the official MNIST files."""

import gzip
import math
import struct
import zlib
from pathlib import Path

import numpy as np

from .errors import DataError

# IDX type codes (third byte of the magic number) -> big-endian numpy dtype.
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_GZIP_MAGIC = b"\x1f\x8b"


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (gzip'ed or plain) into a native-endian array shaped as its header says."""
    path = Path(path)
    try:
        raw = path.read_bytes()
        if raw.startswith(_GZIP_MAGIC):
            raw = gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as error:
        raise _damaged(path, f"it cannot be read or decompressed ({error})") from error

    if len(raw) < 4 or raw[:2] != b"\x00\x00":
        raise _damaged(path, "it does not start with an IDX magic number")
    type_code, ndim = raw[2], raw[3]
    if type_code not in _IDX_DTYPES:
        raise _damaged(path, f"its header names an unknown IDX data type 0x{type_code:02X}")
    header_size = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header_size:
        raise _damaged(path, f"its header is incomplete ({ndim} dimensions, {len(raw)} bytes)")
    shape = struct.unpack(f">{ndim}I", raw[4:header_size])
    dtype = np.dtype(_IDX_DTYPES[type_code])
    expected = math.prod(shape) * dtype.itemsize
    if len(raw) - header_size != expected:
        raise _damaged(
            path,
            f"it holds {len(raw) - header_size} bytes of data but its header announces "
            f"shape {shape}, i.e. {expected} bytes",
        )
    return np.frombuffer(raw, dtype, offset=header_size).reshape(shape).astype(dtype.newbyteorder("="))


def _damaged(path: Path, reason: str) -> DataError:
    return DataError(
        f"{path} is not a valid IDX file: {reason}. The file is damaged or incomplete; "
        "delete it and download or copy it again from its source."
    )
