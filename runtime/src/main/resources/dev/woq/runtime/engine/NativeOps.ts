class NativeOps(Module):
  __parameters__ = []
  __buffers__ = []
  training : bool
  def forward(self: __torch__.NativeOps, x: Tensor) -> Tensor:
    return x
  def int4_mm(self: __torch__.NativeOps, x: Tensor, nibbles: Tensor, scales: Tensor, zeros: Tensor) -> Tensor:
    # The registry's portable layout as mapped: nibbles [n, K/2] uint8 (low = even k), scales and
    # zeros [n, K/g] bf16 (woq_avx512.cpp).
    return ops.woq.int4_mm(torch.contiguous(x), nibbles, scales, zeros)
  def int4q32_mm(self: __torch__.NativeOps, x: Tensor, nibbles: Tensor, scale_codes: Tensor, zero_codes: Tensor, scale_max: Tensor) -> Tensor:
    # int4-q32 as mapped: int4's nibbles, scale and zero codes [n, K/32] uint8, scale_max [1] fp32
    # (woq_avx512.cpp).
    return ops.woq.int4q32_mm(torch.contiguous(x), nibbles, scale_codes, zero_codes, scale_max)
  def int8_mm(self: __torch__.NativeOps, x: Tensor, q: Tensor, scales: Tensor) -> Tensor:
    return ops.woq.int8_mm(torch.contiguous(x), q, scales)
  def int8g32_mm(self: __torch__.NativeOps, x: Tensor, q: Tensor, scales: Tensor) -> Tensor:
    # q [n, K] int8 and scales [n, K/32] bf16 as mapped (woq_avx512.cpp).
    return ops.woq.int8g32_mm(torch.contiguous(x), q, scales)
  def bf16_mm(self: __torch__.NativeOps, x: Tensor, w: Tensor) -> Tensor:
    return ops.woq.bf16_mm(torch.contiguous(x), w)
  def amx_pack(self: __torch__.NativeOps, path: str, file_bytes: int, offset: int, n: int, half_k: int, scales_path: str, scales_file_elems: int, scales_at: int, zeros_path: str, zeros_file_elems: int, zeros_at: int, groups: int) -> Tensor:
    # The checkpoint's portable nibbles ([n, K/2] uint8, low = even k) and bf16 scales and zeros
    # ([n, K/g]) -> the AMX kernel's tiles (woq_int4_amx.cpp). The files are mapped for this call
    # only, so the pages read here leave the process when it returns.
    flat = torch.from_file(path, False, file_bytes, dtype=0)
    nibbles = torch.view(torch.narrow(flat, 0, offset, n * half_k), [n, half_k])
    scales_file = torch.from_file(scales_path, False, scales_file_elems, dtype=15)
    zeros_file = torch.from_file(zeros_path, False, zeros_file_elems, dtype=15)
    scales = torch.view(torch.narrow(scales_file, 0, scales_at, n * groups), [n, groups])
    zeros = torch.view(torch.narrow(zeros_file, 0, zeros_at, n * groups), [n, groups])
    return ops.woq.int4_amx_pack(nibbles, scales, zeros)
  def amx_mm(self: __torch__.NativeOps, x: Tensor, packed: Tensor, out: int, group: int) -> Tensor:
    return ops.woq.int4_amx_mm(torch.contiguous(x), packed, out, group)
  def rms_norm(self: __torch__.NativeOps, x: Tensor, w: Tensor, eps: float) -> Tensor:
    # LlamaOps.rms_norm in one call, rounding where it rounds (woq_layer_ops.cpp).
    return ops.woq.rms_norm(torch.contiguous(x), w, eps)
  def silu_mul(self: __torch__.NativeOps, gate: Tensor, up: Tensor) -> Tensor:
    return ops.woq.silu_mul(torch.contiguous(gate), torch.contiguous(up))
  def attention_decode(self: __torch__.NativeOps, q: Tensor, k: Tensor, v: Tensor, cos: Tensor, sin: Tensor, k_cache: Tensor, v_cache: Tensor, pos: int, n_heads: int, n_kv_heads: int) -> Tensor:
    # LlamaOps.attention for one token (q [1, H*D], k and v [1, KV*D]): RoPE, the cache write and
    # grouped-query attention over positions 0..pos in one call (woq_layer_ops.cpp).
    return ops.woq.attention_decode(torch.contiguous(q), torch.contiguous(k), torch.contiguous(v), cos, sin, k_cache, v_cache, pos, n_heads, n_kv_heads)
  def attention_prefill(self: __torch__.NativeOps, q: Tensor, k: Tensor, v: Tensor, cos: Tensor, sin: Tensor, k_cache: Tensor, v_cache: Tensor, pos: int, n_heads: int, n_kv_heads: int) -> Tensor:
    # LlamaOps.attention for a chunk of T tokens (q [T, H*D], k and v [T, KV*D]): RoPE, the cache
    # writes and causal grouped-query attention over positions 0..pos+t, blocked (woq_layer_ops.cpp).
    return ops.woq.attention_prefill(torch.contiguous(q), torch.contiguous(k), torch.contiguous(v), cos, sin, k_cache, v_cache, pos, n_heads, n_kv_heads)
  def attention_decode_batch(self: __torch__.NativeOps, q: Tensor, k: Tensor, v: Tensor, cos: Tensor, sin: Tensor, k_caches: List[Tensor], v_caches: List[Tensor], positions: List[int], n_heads: int, n_kv_heads: int) -> Tensor:
    # One token of each of B sequences: row b at positions[b] of its own caches.
    outs = annotate(List[Tensor], [])
    for b in range(torch.len(positions)):
      outs.append(ops.woq.attention_decode(torch.contiguous(torch.narrow(q, 0, b, 1)), torch.contiguous(torch.narrow(k, 0, b, 1)), torch.contiguous(torch.narrow(v, 0, b, 1)), cos, sin, k_caches[b], v_caches[b], positions[b], n_heads, n_kv_heads))
    return torch.cat(outs, 0)
