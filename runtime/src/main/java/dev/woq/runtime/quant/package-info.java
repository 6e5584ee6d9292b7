/**
 * Weight-only quantization of Llama checkpoints, in pure Java: {@link dev.woq.runtime.quant.Quantizer}
 * turns a Hugging Face bf16 checkpoint into woq's quantized checkpoint, following a {@link
 * dev.woq.runtime.quant.QuantRecipe}; {@link dev.woq.runtime.quant.WeightCodec} holds the arithmetic.
 *
 * <h2>Recipes</h2>
 *
 * <ul>
 *   <li>{@code int4-q32} ({@link dev.woq.runtime.quant.Int4Q32WeightOnly}, what {@code --dtype int4}
 *       makes): 4-bit codes in groups of 32 with an 8-bit scale code and an 8-bit zero code each,
 *       4.5 bits a weight: {@code w' = (q - zc / 16) * scaleMax * 2^(-c / 16)}, {@code scaleMax} one
 *       fp32 per matrix ({@link dev.woq.runtime.format.WeightFormat.Int4Q32}). Coded by {@link
 *       dev.woq.runtime.quant.Int4Q32Codec}: a first pass over the matrix finds {@code scaleMax}, the
 *       second codes each group (search {@code mse}, the default, or {@code none}, id {@code
 *       int4-q32-rtn}). Needs K % 128 == 0 and N % 16 == 0. With a {@link
 *       dev.woq.runtime.quant.Calibration} text ({@code --calibration}, id {@code int4-q32-cal}, and
 *       {@code int4-g<N>-cal} likewise) the {@code mse} search weighs each weight by its input's
 *       {@link dev.woq.runtime.quant.ActivationImportance}; the tensors are the same.
 *   <li>{@code int4-g128}, {@code int4-g64}, {@code int4-g32} ({@link dev.woq.runtime.quant.Int4WeightOnly},
 *       {@code --group-size}):
 *       asymmetric 4-bit, group-wise along the input dimension K, as gpt-fast and torchao. For output
 *       row n and each group of g consecutive k: {@code scale = bf16(max(max - min, 1e-6) / 15)},
 *       {@code zero = bf16(min + 8 * scale)}, {@code q = clamp(rint((w - (zero - 8 * scale)) / scale),
 *       0, 15)}, and {@code w' = (q - 8) * scale + zero}. Constant groups are exact (q = 8, zero = the
 *       value). Needs K % g == 0 and N % 16 == 0 (libtorch's int4 pack). That is round-to-nearest
 *       ({@code search} {@code none}, ids {@code int4-g128-rtn} etc.); the default {@code search}
 *       {@code mse} ({@link dev.woq.runtime.quant.Int4MseSearch}) stores the same tensors with the
 *       scale and zero of least squared error per group.
 *   <li>{@code int8} ({@link dev.woq.runtime.quant.Int8WeightOnly}): symmetric 8-bit, one scale per
 *       output row: {@code scale = bf16(max|w| / 127)}, {@code q = clamp(rint(w / scale), -128, 127)},
 *       {@code w' = q * scale}. All-zero rows are exact. Needs K % 16 == 0 (the AVX-512 int8 kernel).
 * </ul>
 *
 * <h2>On-disk layout (a contract with the loader)</h2>
 *
 * A quantized checkpoint directory holds the source's {@code config.json}, {@code
 * generation_config.json}, {@code tokenizer.json} and {@code tokenizer_config.json} (those that
 * exist), {@code woq_quantization.json} (the recipe, e.g. {@code {"dtype": "int4", "group_size": 128,
 * "quantize_lm_head": true, "search": "mse"}}; int4-q32's adds {@code "layout": "q32"}, {@code
 * scale_bits}, {@code zero_bits} and {@code bits_per_weight}; int8 has no {@code group_size} or
 * {@code search}; an int4 recipe without {@code search} was rounded to nearest; a calibrated one adds
 * {@code "calibration"}: the text's name and SHA-256, its tokens read and the weighting; written last), and
 * safetensors weights in
 * Hugging Face's layout ({@code model.safetensors}, or 5 GB shards with {@code
 * model.safetensors.index.json}), every shard's header carrying {@code __metadata__ {"format": "pt"}}.
 *
 * <p>Quantized are every layer's {@code q/k/v/o_proj} and {@code gate/up/down_proj}, and {@code
 * lm_head.weight} when the recipe quantizes it and the config does not tie the embeddings. A
 * projection whose bf16 tensor is {@code P.weight} of shape {@code [N, K]} becomes:
 *
 * <table>
 *   <caption>Quantized tensors of projection P</caption>
 *   <tr><th>recipe</th><th>name</th><th>dtype</th><th>shape</th><th>content</th></tr>
 *   <tr><td>int4</td><td>{@code P.qweight}</td><td>U8</td><td>[N, K/2]</td>
 *       <td>byte j of row n holds q[n][2j] in its LOW nibble and q[n][2j+1] in its HIGH nibble, q in
 *       [0, 15] (plain layout; the loader repacks it for the kernel)</td></tr>
 *   <tr><td>int4</td><td>{@code P.scales}</td><td>BF16</td><td>[N, K/g]</td><td>scale of row n, group j</td></tr>
 *   <tr><td>int4</td><td>{@code P.zeros}</td><td>BF16</td><td>[N, K/g]</td>
 *       <td>zero point of row n, group j: {@code w' = (q - 8) * scale + zero}</td></tr>
 *   <tr><td>int4-q32</td><td>{@code P.qweight}</td><td>U8</td><td>[N, K/2]</td><td>as int4</td></tr>
 *   <tr><td>int4-q32</td><td>{@code P.scales}</td><td>U8</td><td>[N, K/32]</td>
 *       <td>scale code c of row n, group j: {@code scale = scaleMax * 2^(-c / 16)}</td></tr>
 *   <tr><td>int4-q32</td><td>{@code P.zeros}</td><td>U8</td><td>[N, K/32]</td>
 *       <td>zero code zc: {@code w' = (q - zc / 16) * scale}</td></tr>
 *   <tr><td>int4-q32</td><td>{@code P.scale_max}</td><td>F32</td><td>[1]</td><td>{@code scaleMax}</td></tr>
 *   <tr><td>int8</td><td>{@code P.qweight}</td><td>I8</td><td>[N, K]</td><td>q[n][k] in [-128, 127]</td></tr>
 *   <tr><td>int8</td><td>{@code P.scales}</td><td>BF16</td><td>[N]</td><td>scale of row n: {@code w' = q * scale}</td></tr>
 * </table>
 *
 * <p>Every other tensor (embedding, norms, the LM head when kept) is stored as BF16 under its
 * original name, F16/F32 sources rounded to nearest even.
 *
 * <p>Tensor order: the source's order, each quantized projection's {@code qweight}, {@code scales},
 * {@code zeros} (int4) in its place, except that every tensor whose size is not a multiple of 64
 * bytes (int4-q32's 4-byte {@code scale_max}, odd shapes) goes after all the others, together with
 * the rest of its matrix when its codes are such a tensor. The data section of every shard starts
 * at a multiple of 64, so every tensor before them (every Llama matrix's codes and scales) starts
 * 64-byte aligned, which the kernels' 64-byte loads of mapped rows need to run at full speed; the
 * loader copies codes that are not aligned.
 * Sharding keeps this order (a shard holds a run of consecutive tensors).
 */
package dev.woq.runtime.quant;
