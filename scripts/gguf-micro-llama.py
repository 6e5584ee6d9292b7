#!/usr/bin/env python3
"""Writes four small GGUF Llamas with llama.cpp's own Python package (gguf-py, `pip install gguf`),
as llama.cpp's converter lays them out, for woq's import tests (GgufLlamaCppFilesTest):

  micro-bf16.gguf   random bf16 weights (N(0, 0.1), seed 5), norms F32, a 384-token byte-level vocabulary
  micro-q8_0.gguf   the same weights, projections and output quantized by gguf-py's Q8_0 quantizer
  micro-q4_0.gguf   ... by its Q4_0 quantizer
  micro-q4_1.gguf   ... by its Q4_1 quantizer (a type woq reads but does not write)

The embedding stays BF16 in all four. Shape: hidden 128, 2 layers, 4 heads, 2 KV heads, head 32,
MLP 256, Llama 3's rope theta.

    pip install --target /tmp/ggufpy gguf==0.19.0
    PYTHONPATH=/tmp/ggufpy python3 scripts/gguf-micro-llama.py runtime/src/test/resources/gguf

With a second argument `k256` it writes only `micro256-bf16.gguf`: hidden 256, one layer, 4 heads of
64, 2 KV heads, MLP 512, every row a multiple of 256 values as llama.cpp's K-quants need
(scripts/gguf-llamacpp-kquants.sh quantizes it with llama.cpp's own llama-quantize).
"""
import os
import sys

import numpy as np
from gguf import GGUFWriter, GGMLQuantizationType as T, TokenType
from gguf.quants import quantize, dequantize

HIDDEN, LAYERS, HEADS, KV_HEADS, HEAD_DIM, FFN, VOCAB = 128, 2, 4, 2, 32, 256, 384


def byte_tokens():
    """GPT-2's byte-to-unicode map: the 256 byte tokens of a byte-level BPE vocabulary."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    table = dict(zip(bs, cs))
    return [chr(table[b]) for b in range(256)]


def weights():
    rng = np.random.default_rng(5)
    w = {}

    def mat(name, rows, cols):
        x = rng.normal(0, 0.1, size=(rows, cols)).astype(np.float32)
        w[name] = dequantize(quantize(x, T.BF16), T.BF16).reshape(rows, cols)  # bf16 values

    mat("token_embd.weight", VOCAB, HIDDEN)
    for i in range(LAYERS):
        w[f"blk.{i}.attn_norm.weight"] = (1 + rng.normal(0, 0.1, size=HIDDEN)).astype(np.float32)
        mat(f"blk.{i}.attn_q.weight", HEADS * HEAD_DIM, HIDDEN)
        mat(f"blk.{i}.attn_k.weight", KV_HEADS * HEAD_DIM, HIDDEN)
        mat(f"blk.{i}.attn_v.weight", KV_HEADS * HEAD_DIM, HIDDEN)
        mat(f"blk.{i}.attn_output.weight", HIDDEN, HEADS * HEAD_DIM)
        w[f"blk.{i}.ffn_norm.weight"] = (1 + rng.normal(0, 0.1, size=HIDDEN)).astype(np.float32)
        mat(f"blk.{i}.ffn_gate.weight", FFN, HIDDEN)
        mat(f"blk.{i}.ffn_up.weight", FFN, HIDDEN)
        mat(f"blk.{i}.ffn_down.weight", HIDDEN, FFN)
    w["output_norm.weight"] = (1 + rng.normal(0, 0.1, size=HIDDEN)).astype(np.float32)
    mat("output.weight", VOCAB, HIDDEN)
    # norms as bf16 values too, as a converter writes them from a bf16 checkpoint
    for k, v in w.items():
        if v.ndim == 1:
            w[k] = dequantize(quantize(v, T.BF16), T.BF16).reshape(v.shape)
    return w


def write(path, w, qtype):
    g = GGUFWriter(path, "llama")
    g.add_name("woq micro llama")
    g.add_context_length(2048)
    g.add_embedding_length(HIDDEN)
    g.add_block_count(LAYERS)
    g.add_feed_forward_length(FFN)
    g.add_head_count(HEADS)
    g.add_head_count_kv(KV_HEADS)
    g.add_rope_freq_base(500000.0)
    g.add_layer_norm_rms_eps(1e-5)
    g.add_vocab_size(VOCAB)
    g.add_rope_dimension_count(HEAD_DIM)
    g.add_tokenizer_model("gpt2")
    g.add_tokenizer_pre("llama-bpe")
    tokens = byte_tokens() + ["ĠĠ", "<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>"]
    types = [TokenType.NORMAL] * 257 + [TokenType.CONTROL] * 3
    while len(tokens) < VOCAB:
        tokens.append(f"<|reserved_special_token_{len(tokens)}|>")
        types.append(TokenType.CONTROL)
    g.add_token_list(tokens)
    g.add_token_types(types)
    g.add_token_merges(["Ġ Ġ"])
    g.add_bos_token_id(257)
    g.add_eos_token_id(259)
    for name, x in w.items():
        if x.ndim == 1:
            g.add_tensor(name, x.astype(np.float32))
        elif name == "token_embd.weight" or qtype == T.BF16:
            g.add_tensor(name, quantize(x, T.BF16), raw_dtype=T.BF16)
        else:
            g.add_tensor(name, quantize(x, qtype), raw_dtype=qtype)
    g.write_header_to_file()
    g.write_kv_data_to_file()
    g.write_tensors_to_file()
    g.close()


def main(out_dir, shape=None):
    global HIDDEN, LAYERS, HEADS, KV_HEADS, HEAD_DIM, FFN
    if shape == "k256":
        HIDDEN, LAYERS, HEADS, KV_HEADS, HEAD_DIM, FFN = 256, 1, 4, 2, 64, 512
        write(os.path.join(out_dir, "micro256-bf16.gguf"), weights(), T.BF16)
        return
    w = weights()
    for suffix, qtype in (("bf16", T.BF16), ("q8_0", T.Q8_0), ("q4_0", T.Q4_0), ("q4_1", T.Q4_1)):
        write(os.path.join(out_dir, f"micro-{suffix}.gguf"), w, qtype)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None)
