// Every attention backend, one registration line each:
//
//   LRA_ATTENTION_BACKEND(name, one-line description, COST (QUADRATIC | LINEAR in the length),
//                         the exact backend it approximates ("" = it is exact),
//                         READS(the attention.* keys it reads), KERNELS(the attention.kernel
//                         values it computes), RULES(what its settings must keep beyond each
//                         key's range: backend_rules.h)[, EXACT_WHEN(where it computes what it
//                         approximates exactly instead: exact_forms.h)])
//
// The line is expanded twice: without LibTorch into the descriptions the config checks when it
// is read, the docs and the tools (backend_spec.cpp), and into the implementation table
// (src/attention/registry.cpp), which takes the factory `make`, the FLOP count `flops` and the
// exact reference `reference` from namespace lra::backends::<name>
// (src/attention/backends/<name>.cpp; signatures in src/attention/registry.h). Adding a backend
// = that file + one line here; a new key is declared once in attention_keys.cpp (and its field in
// attention_config.h), a new rule once in backend_rules.cpp.
// (No include guard: this list is expanded more than once.)
// clang-format off
LRA_ATTENTION_BACKEND(softmax, "exact softmax(q k^T / sqrt(d)) v, fused (blocked CPU kernel; scaled_dot_product_attention on CUDA)", QUADRATIC, "", READS(), KERNELS("exp"), RULES())
LRA_ATTENTION_BACKEND(kernelized, "exact dot-product-kernel attention on SchoenbAt-normalised q, k (what schoenbat estimates)", QUADRATIC, "", READS("kernel", "causal", "eps"), KERNELS(LRA_DOT_KERNELS), RULES())
LRA_ATTENTION_BACKEND(favor, "Performer-family random features of the softmax kernel: component function (FAVOR+ positive, OPRF, SADERF, trigonometric) x weight sampler", LINEAR, "softmax", READS("features", "redraw_interval", "component", "weight_sampler", "row_norm", "eps", "convention"), KERNELS("exp"), RULES(&features_at_least_one, &code_performer_is_positive, &learned_rows_not_redrawn, &paper_or_skyformer_code))
LRA_ATTENTION_BACKEND(favor_sharp, "FAVOR#: dense-exponential random features with data-optimal parameters (softmax kernel)", LINEAR, "softmax", READS("features", "redraw_interval", "weight_sampler", "row_norm", "eps"), KERNELS("exp"), RULES(&features_at_least_one, &drawn_rows_only))
LRA_ATTENTION_BACKEND(schoenbat, "SchoenbAt: random Maclaurin features of a dot-product kernel with pre/post-SBN", LINEAR, "kernelized", READS("features", "redraw_interval", "kernel", "max_degree", "causal", "eps"), KERNELS(LRA_DOT_KERNELS), RULES(&features_at_least_one))
LRA_ATTENTION_BACKEND(linear_transformer, "Linear Transformer (Katharopoulos et al. 2020): kernel elu(q)+1 . elu(k)+1, keys times values first", LINEAR, "", READS("eps"), KERNELS(), RULES())
LRA_ATTENTION_BACKEND(nystromformer, "Nystromformer: Nystrom approximation of softmax attention on segment-mean landmarks, iterative pinv", LINEAR, "softmax", READS("num_landmarks", "pinv_iterations", "conv_kernel", "convention"), KERNELS("exp"), RULES(&odd_conv_kernel, &landmarks_divide_length, &paper_or_skyformer_code), EXACT_WHEN(&landmarks_cover_length))
LRA_ATTENTION_BACKEND(linformer, "Linformer: keys and values projected along the sequence by a learned (k x max_length) E per head", LINEAR, "softmax", READS("linformer_k"), KERNELS("exp"), RULES(), EXACT_WHEN(&projection_covers_length))
LRA_ATTENTION_BACKEND(gaussian_kernelized, "exact Gaussian-kernel attention exp(-(q-k)^2/2) on q, k scaled by d^-1/4, unnormalised (what skyformer estimates)", QUADRATIC, "", READS(), KERNELS("gaussian"), RULES())
LRA_ATTENTION_BACKEND(skyformer, "Skyformer: Nystrom approximation of the Gaussian kernel on landmarks sampled from the real tokens of [q; k]", LINEAR, "gaussian_kernelized", READS("features", "accumulation", "sampling_factor", "pinv_iterations", "convention"), KERNELS("gaussian"), RULES(&paper_or_skyformer_code), EXACT_WHEN(&columns_cover_length))
LRA_ATTENTION_BACKEND(bigbird, "BigBird: block-sparse softmax attention, global first/last blocks, a 3-block window and random blocks per query block (exact below (2g+3+2r) blocks)", LINEAR, "softmax", READS("block_size", "random_blocks", "global_blocks", "convention"), KERNELS("exp"), RULES(&block_fits_length, &code_bigbird_one_global, &paper_or_skyformer_code), EXACT_WHEN(&pattern_covers_length))
LRA_ATTENTION_BACKEND(informer, "Informer: ProbSparse attention, exact softmax rows for the top c ln(n) queries by a sampled sparsity measure, the mean of v for the rest", LINEAR, "softmax", READS("features", "sampling_factor", "convention"), KERNELS("exp"), RULES(&informer_one_factor_source, &paper_or_skyformer_code), EXACT_WHEN(&selected_queries_cover_length))
LRA_ATTENTION_BACKEND(shared_qk, "exact shared-QK softmax attention: keys = the queries at unit length, a token attends itself only when no other key is real (what reformer estimates)", QUADRATIC, "", READS(), KERNELS("exp"), RULES())
LRA_ATTENTION_BACKEND(reformer, "Reformer: LSH attention with a shared query-key, rounds of random-rotation hashes, sorted chunks attending to themselves and their neighbours", LINEAR, "shared_qk", READS("hashes", "bucket_size", "chunks_before", "chunks_after", "num_buckets", "convention"), KERNELS("exp"), RULES(&bucket_fits_length, &even_num_buckets, &paper_or_skyformer_code), EXACT_WHEN(&chunk_covers_length))
LRA_ATTENTION_BACKEND(sinkhorn, "Sinkhorn Transformer: each query block attends to its own keys and its sorted block, a learned Gumbel-Sinkhorn soft permutation of the key blocks (exact for one block)", LINEAR, "softmax", READS("block_size", "sinkhorn_iterations", "temperature", "convention"), KERNELS("exp"), RULES(&block_fits_length, &paper_or_lra_code, &code_blocks_divide_length, &code_sort_no_iterations, &code_sort_no_temperature), EXACT_WHEN(&sinkhorn_block_covers_length))
LRA_ATTENTION_BACKEND(synthesizer, "Synthesizer: softmax of learned synthetic logits (random: an L x L matrix per head; factorized; dense: a network of each query) plus q k^T / sqrt(d) by default, times v", QUADRATIC, "", READS("synthesizer_mode", "dot_product", "synthesizer_k", "max_length", "convention"), KERNELS("exp"), RULES(&paper_or_lra_code, &synthesizer_covers_length, &synthesizer_k_factorized))
LRA_ATTENTION_BACKEND(local, "Local attention (LRA paper): block-local softmax, each query attends to the keys of its own block of block_size tokens (exact for one block)", LINEAR, "softmax", READS("block_size", "convention"), KERNELS("exp"), RULES(&block_fits_length, &paper_or_lra_code), EXACT_WHEN(&local_block_covers_length))
LRA_ATTENTION_BACKEND(longformer, "Longformer: sliding-window softmax attention, window / 2 keys on each side, plus global first tokens that attend to and are attended by every token (exact when the window spans the sequence)", LINEAR, "softmax", READS("window", "global_tokens", "convention"), KERNELS("exp"), RULES(&paper_window_even, &global_tokens_fit_length, &paper_or_lra_code), EXACT_WHEN(&window_covers_length))
LRA_ATTENTION_BACKEND(sparse_transformer, "Sparse Transformer: causal softmax attention over a fixed (own block + summary positions) or strided pattern, with global first tokens; the pattern is the model (computed exactly)", QUADRATIC, "", READS("block_size", "sparse_pattern", "summary_tokens", "global_tokens"), KERNELS("exp"), RULES(&block_fits_length, &summary_tokens_fixed_only, &global_tokens_fit_length))
// clang-format on
