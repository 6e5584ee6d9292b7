class LlamaOps(Module):
  __parameters__ = []
  __buffers__ = []
  training : bool
  def forward(self: __torch__.LlamaOps, x: Tensor) -> Tensor:
    return x
  def map_file(self: __torch__.LlamaOps, path: str, numel: int, dtype: int) -> Tensor:
    # Read-only, copy-on-write mapping of a whole file as a 1-D tensor (no bytes are read yet).
    return torch.from_file(path, False, numel, dtype=dtype)
  def tensor_at(self: __torch__.LlamaOps, flat: Tensor, offset: int, numel: int, shape: List[int]) -> Tensor:
    return torch.reshape(torch.narrow(flat, 0, offset, numel), shape)
  def to_dtype(self: __torch__.LlamaOps, x: Tensor, dtype: int) -> Tensor:
    return torch.contiguous(torch.to(x, dtype))
  def embedding(self: __torch__.LlamaOps, table: Tensor, ids: Tensor) -> Tensor:
    # ids: [T] int64 -> [T, hidden] in the table's dtype
    return torch.embedding(table, ids)
  def rms_norm(self: __torch__.LlamaOps, x: Tensor, w: Tensor, eps: float) -> Tensor:
    # As Hugging Face's LlamaRMSNorm: normalize in fp32, round to bf16, then scale.
    xf = torch.to(x, 6)
    var = torch.mean(torch.mul(xf, xf), [-1], True)
    return torch.mul(w, torch.to(torch.mul(xf, torch.rsqrt(torch.add(var, eps))), 15))
  def add_(self: __torch__.LlamaOps, x: Tensor, y: Tensor) -> Tensor:
    return torch.add_(x, y)
  def linear_bf16(self: __torch__.LlamaOps, x: Tensor, w: Tensor) -> Tensor:
    return torch.linear(x, w)
  def silu_mul(self: __torch__.LlamaOps, gate: Tensor, up: Tensor) -> Tensor:
    return torch.mul(torch.silu(gate), up)
  def rope(self: __torch__.LlamaOps, x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    # x: [heads, T, D] bf16; cos, sin: [T, D] fp32. Hugging Face layout: rotate the two halves.
    half = torch.size(x, -1) // 2
    xf = torch.to(x, 6)
    x1 = torch.narrow(xf, -1, 0, half)
    x2 = torch.narrow(xf, -1, half, half)
    rotated = torch.cat([torch.neg(x2), x1], -1)
    return torch.to(torch.add(torch.mul(xf, cos), torch.mul(rotated, sin)), 15)
  def attention(self: __torch__.LlamaOps, q: Tensor, k: Tensor, v: Tensor, cos: Tensor, sin: Tensor, k_cache: Tensor, v_cache: Tensor, pos: int, n_heads: int, n_kv_heads: int, head_dim: int) -> Tensor:
    # q: [T, H*D], k and v: [T, KV*D] bf16; cos, sin: [max_pos, D] fp32 tables;
    # k_cache, v_cache: [KV, capacity, D] bf16, filled up to pos. Returns [T, H*D].
    t = torch.size(q, 0)
    c = torch.narrow(cos, 0, pos, t)
    s = torch.narrow(sin, 0, pos, t)
    qh = (self).rope(torch.transpose(torch.view(q, [t, n_heads, head_dim]), 0, 1), c, s)
    kh = (self).rope(torch.transpose(torch.view(k, [t, n_kv_heads, head_dim]), 0, 1), c, s)
    vh = torch.transpose(torch.view(v, [t, n_kv_heads, head_dim]), 0, 1)
    _0 = torch.copy_(torch.narrow(k_cache, 1, pos, t), kh)
    _1 = torch.copy_(torch.narrow(v_cache, 1, pos, t), vh)
    g = n_heads // n_kv_heads
    if t == 1:
      # Grouped heads without enable_gqa (which libtorch 2.7 runs on its slow math path, expanding
      # the cache): the G query heads sharing a KV head become G query rows of that head, so SDPA
      # sees plain multi-head attention over the cache as it is. Head h = kv * G + g.
      # In fp32, rounded once, as a prompt's attention below and woq's native decode step.
      query = torch.unsqueeze(torch.reshape(torch.to(qh, 6), [n_kv_heads, g, head_dim]), 0)
      keys = torch.unsqueeze(torch.to(torch.narrow(k_cache, 1, 0, pos + 1), 6), 0)
      values = torch.unsqueeze(torch.to(torch.narrow(v_cache, 1, 0, pos + 1), 6), 0)
      out = torch.scaled_dot_product_attention(query, keys, values, None, 0.0, False, scale=None)
      return torch.reshape(torch.to(out, 15), [1, n_heads * head_dim])
    # Several tokens (a prompt chunk): no mask is built. The chunk's own keys are attended with
    # is_causal (the chunk is square, so libtorch's top-left causal mask is the right one), the
    # keys cached before it with no mask at all (every query sees them), both on libtorch's
    # blocked flash kernel, which never holds a [t, pos + t] matrix; the two partial results are
    # merged by their log-sum-exp, as flash attention merges its key blocks.
    # The chunk's keys and values are repeated per query head ([H, t, D], small) for is_causal.
    # Both parts run in fp32 and are rounded to bf16 once, after the merge, as a single pass is:
    # merging two bf16-rounded parts put chunked prompts' logits at a cosine of 0.9997-0.9998 to
    # one pass's (on int8 activations the small differences move inputs across a rounding step).
    qf = torch.to(qh, 6)
    q4 = torch.unsqueeze(qf, 0)
    kc = torch.unsqueeze(torch.repeat_interleave(torch.to(kh, 6), g, 0), 0)
    vc = torch.unsqueeze(torch.repeat_interleave(torch.to(vh, 6), g, 0), 0)
    own, own_lse = torch._scaled_dot_product_flash_attention_for_cpu(q4, kc, vc, 0.0, True, attn_mask=None, scale=None)
    if pos == 0:
      heads = torch.to(torch.reshape(own, [n_heads, t, head_dim]), 15)
    else:
      # The cached prefix, grouped as for t == 1: row g*t + i of KV head kv is token i of head kv*G + g.
      query = torch.unsqueeze(torch.reshape(qf, [n_kv_heads, g * t, head_dim]), 0)
      keys = torch.unsqueeze(torch.to(torch.narrow(k_cache, 1, 0, pos), 6), 0)
      values = torch.unsqueeze(torch.to(torch.narrow(v_cache, 1, 0, pos), 6), 0)
      old, old_lse = torch._scaled_dot_product_flash_attention_for_cpu(query, keys, values, 0.0, False, attn_mask=None, scale=None)
      l1 = torch.reshape(old_lse, [n_heads, t, 1])
      l2 = torch.reshape(own_lse, [n_heads, t, 1])
      m = torch.maximum(l1, l2)
      w1 = torch.exp(torch.sub(l1, m))
      w2 = torch.exp(torch.sub(l2, m))
      o1 = torch.reshape(old, [n_heads, t, head_dim])
      o2 = torch.reshape(own, [n_heads, t, head_dim])
      merged = torch.div(torch.add(torch.mul(o1, w1), torch.mul(o2, w2)), torch.add(w1, w2))
      heads = torch.to(merged, 15)
    # heads: [H, t, D] -> [t, H*D]
    return torch.reshape(torch.transpose(heads, 0, 1), [t, n_heads * head_dim])
  def attention_batch(self: __torch__.LlamaOps, q: Tensor, k: Tensor, v: Tensor, cos: Tensor, sin: Tensor, k_caches: List[Tensor], v_caches: List[Tensor], positions: List[int], n_heads: int, n_kv_heads: int, head_dim: int) -> Tensor:
    # One new token for each of B sequences (continuous batching): row b of q, k, v belongs to
    # sequence b, at positions[b] of its own cache. The projections around this ran as one
    # [B, hidden] matmul; attention is per sequence, since each has its own length.
    outs = annotate(List[Tensor], [])
    for b in range(torch.len(positions)):
      outs.append((self).attention(torch.narrow(q, 0, b, 1), torch.narrow(k, 0, b, 1), torch.narrow(v, 0, b, 1), cos, sin, k_caches[b], v_caches[b], positions[b], n_heads, n_kv_heads, head_dim))
    return torch.cat(outs, 0)
  def last_row_logits(self: __torch__.LlamaOps, x: Tensor) -> Tensor:
    return torch.narrow(x, 0, torch.size(x, 0) - 1, 1)
  def to_float(self: __torch__.LlamaOps, x: Tensor) -> Tensor:
    return torch.contiguous(torch.to(x, 6))
  def empty(self: __torch__.LlamaOps, shape: List[int], dtype: int) -> Tensor:
    # Uninitialised, so the pages of a large KV cache become resident only as positions fill.
    return torch.empty(shape, dtype=dtype)
  def sum_f32(self: __torch__.LlamaOps, x: Tensor) -> Tensor:
    # Reads x once: the benchmark's yardstick of memory bandwidth.
    return torch.sum(x, dtype=6)
  def int4_repack(self: __torch__.LlamaOps, path: str, file_bytes: int, offset: int, n: int, half_k: int, chunk: int) -> Tensor:
    # The checkpoint's portable nibbles ([n, K/2] uint8, low = even k) in this CPU's kernel layout,
    # which depends on the instruction set, so it is built here, at load, a chunk of rows at a
    # time. The file is mapped only for this call: its pages leave the process when it returns.
    flat = torch.from_file(path, False, file_bytes, dtype=0)
    packed = torch.view(torch.narrow(flat, 0, offset, n * half_k), [n, half_k])
    parts = annotate(List[Tensor], [])
    for start in range(0, n, chunk):
      rows = torch.narrow(packed, 0, start, min(chunk, n - start))
      lo = torch.bitwise_and(rows, 15)
      hi = torch.bitwise_right_shift(rows, 4)
      codes = torch.to(torch.flatten(torch.stack([lo, hi], -1), 1), 3)
      parts.append(torch._convert_weight_to_int4pack_for_cpu(codes, 8))
    return torch.cat(parts, 0)
  def int4_pack_reference(self: __torch__.LlamaOps, codes: Tensor) -> Tensor:
    # codes: [N, K] int32 in 0..15 -> libtorch's own CPU packing, which Int4CpuPacking must match.
    return torch._convert_weight_to_int4pack_for_cpu(codes, 8)
  def int4_scales_zeros(self: __torch__.LlamaOps, scales_path: str, scales_file_elems: int, scales_at: int, zeros_path: str, zeros_file_elems: int, zeros_at: int, n: int, groups: int) -> Tensor:
    # scales, zeros: [N, K/g] bf16 in the files -> [K/g, N, 2] as the fused kernel wants them. The
    # files are mapped for this call only, so the pages read here do not stay in the process.
    scales_file = torch.from_file(scales_path, False, scales_file_elems, dtype=15)
    zeros_file = torch.from_file(zeros_path, False, zeros_file_elems, dtype=15)
    scales = torch.view(torch.narrow(scales_file, 0, scales_at, n * groups), [n, groups])
    zeros = torch.view(torch.narrow(zeros_file, 0, zeros_at, n * groups), [n, groups])
    return torch.contiguous(torch.stack([torch.t(scales), torch.t(zeros)], -1))
  def linear_int4(self: __torch__.LlamaOps, x: Tensor, w: Tensor, group: int, sz: Tensor) -> Tensor:
    return torch._weight_int4pack_mm_for_cpu(x, w, group, sz)
  def linear_int8(self: __torch__.LlamaOps, x: Tensor, w: Tensor, scales: Tensor) -> Tensor:
    return torch._weight_int8pack_mm(x, w, scales)
  def dequantize_int8_groups(self: __torch__.LlamaOps, codes: Tensor, scales: Tensor, group: int) -> Tensor:
    # codes [N, K] int8, scales [N, K/group] bf16 -> [N, K] bf16: each code (exact in bf16) times
    # its group's scale, the product rounded once to bf16.
    n = torch.size(codes, 0)
    k = torch.size(codes, 1)
    grouped = torch.view(torch.to(codes, 15), [n, k // group, group])
    return torch.contiguous(torch.view(torch.mul(grouped, torch.unsqueeze(scales, -1)), [n, k]))
  def kv_rows(self: __torch__.LlamaOps, cache: Tensor, n: int) -> Tensor:
    # The first n positions of a [KV, capacity, D] cache as a compact [KV, n, D] copy.
    return torch.clone(torch.narrow(cache, 1, 0, n), memory_format=0)
  def put_kv_rows(self: __torch__.LlamaOps, cache: Tensor, rows: Tensor, n: int) -> Tensor:
    # The first n of rows [KV, m, D] written over the first n positions of the cache.
    return torch.copy_(torch.narrow(cache, 1, 0, n), torch.narrow(rows, 1, 0, n))
  def clone(self: __torch__.LlamaOps, x: Tensor) -> Tensor:
    return torch.clone(x)
