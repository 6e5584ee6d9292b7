#!/usr/bin/env python3
"""Writes runtime/src/test/resources/gguf/reference-blocks.gguf with llama.cpp's own Python package
(gguf-py, `pip install gguf`): for each tensor type woq reads, a tensor of random blocks (sane
fp16 scales) and beside it, as F32, what gguf-py's dequantize() makes of them. GgufReferenceBlocksTest
reads the file with woq's reader and checks woq's dequantization against those values.

    pip install --target /tmp/ggufpy gguf==0.19.0
    PYTHONPATH=/tmp/ggufpy python3 scripts/gguf-reference-blocks.py runtime/src/test/resources/gguf/reference-blocks.gguf
"""
import sys

import numpy as np
from gguf import GGUFWriter, GGMLQuantizationType as T
from gguf.constants import GGML_QUANT_SIZES
from gguf.quants import dequantize

# Where each type keeps its fp16 scales in a block (byte offsets), so random bytes there are replaced
# by finite, model-like values.
HALF_FIELDS = {T.Q4_0: [0], T.Q4_1: [0, 2], T.Q8_0: [0], T.Q4_K: [0, 2], T.Q5_K: [0, 2], T.Q6_K: [208]}
ROWS, ROW_LENGTH = 3, 512


def main(out):
    rng = np.random.default_rng(17)
    w = GGUFWriter(out, "llama")
    w.add_name("woq reference blocks")
    for qtype in (T.Q4_0, T.Q4_1, T.Q8_0, T.Q4_K, T.Q5_K, T.Q6_K):
        block_size, type_size = GGML_QUANT_SIZES[qtype]
        blocks = ROWS * ROW_LENGTH // block_size
        raw = rng.integers(0, 256, size=(blocks, type_size), dtype=np.uint8)
        for off in HALF_FIELDS[qtype]:
            scales = rng.uniform(-0.05, 0.05, size=blocks).astype(np.float16)
            raw[:, off:off + 2] = scales.view(np.uint8).reshape(blocks, 2)
        raw = raw.reshape(ROWS, -1)
        w.add_tensor(qtype.name, raw, raw_dtype=qtype)
        w.add_tensor("expected." + qtype.name, dequantize(raw, qtype).astype(np.float32).reshape(ROWS, ROW_LENGTH))
    for qtype, dtype in ((T.F16, np.float16),):
        x = rng.normal(size=(ROWS, ROW_LENGTH)).astype(dtype)
        w.add_tensor(qtype.name, x)
        w.add_tensor("expected." + qtype.name, x.astype(np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


if __name__ == "__main__":
    main(sys.argv[1])
