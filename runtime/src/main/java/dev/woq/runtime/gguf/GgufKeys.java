package dev.woq.runtime.gguf;

/**
 * The metadata keys woq reads and writes, as llama.cpp's {@code gguf-py/gguf/constants.py} names
 * them. Keys under an architecture ({@code llama.*}) take the architecture's name as prefix.
 */
public final class GgufKeys {
    private GgufKeys() {}

    public static final String ARCHITECTURE = "general.architecture";
    public static final String NAME = "general.name";
    public static final String ALIGNMENT = "general.alignment";
    public static final String FILE_TYPE = "general.file_type";
    public static final String QUANTIZATION_VERSION = "general.quantization_version";

    /** The default {@link #ALIGNMENT} of tensor data. */
    public static final int DEFAULT_ALIGNMENT = 32;

    // Hyperparameters, after the architecture prefix ("llama" + CONTEXT_LENGTH).
    public static final String CONTEXT_LENGTH = ".context_length";
    public static final String EMBEDDING_LENGTH = ".embedding_length";
    public static final String BLOCK_COUNT = ".block_count";
    public static final String FEED_FORWARD_LENGTH = ".feed_forward_length";
    public static final String HEAD_COUNT = ".attention.head_count";
    public static final String HEAD_COUNT_KV = ".attention.head_count_kv";
    public static final String KEY_LENGTH = ".attention.key_length";
    public static final String VALUE_LENGTH = ".attention.value_length";
    public static final String RMS_EPS = ".attention.layer_norm_rms_epsilon";
    public static final String ROPE_DIMENSION_COUNT = ".rope.dimension_count";
    public static final String ROPE_FREQ_BASE = ".rope.freq_base";
    public static final String ROPE_SCALING_TYPE = ".rope.scaling.type";
    public static final String ROPE_SCALING_ORIG_CTX = ".rope.scaling.original_context_length";
    public static final String VOCAB_SIZE = ".vocab_size";

    // Tokenizer.
    public static final String TOKENIZER_MODEL = "tokenizer.ggml.model";
    public static final String TOKENIZER_PRE = "tokenizer.ggml.pre";
    public static final String TOKENS = "tokenizer.ggml.tokens";
    public static final String TOKEN_TYPE = "tokenizer.ggml.token_type";
    public static final String SCORES = "tokenizer.ggml.scores";
    public static final String MERGES = "tokenizer.ggml.merges";
    public static final String BOS_ID = "tokenizer.ggml.bos_token_id";
    public static final String EOS_ID = "tokenizer.ggml.eos_token_id";
    public static final String EOT_ID = "tokenizer.ggml.eot_token_id";
    public static final String ADD_BOS = "tokenizer.ggml.add_bos_token";
    public static final String ADD_EOS = "tokenizer.ggml.add_eos_token";
    public static final String CHAT_TEMPLATE = "tokenizer.chat_template";

    /** {@link #TOKENIZER_MODEL} of a byte-level BPE vocabulary (Llama 3). */
    public static final String TOKENIZER_GPT2 = "gpt2";
    /** {@link #TOKENIZER_MODEL} of a SentencePiece vocabulary (Llama 2). */
    public static final String TOKENIZER_LLAMA = "llama";
    /** {@link #TOKENIZER_PRE} of Llama 3's pre-tokenizer. */
    public static final String PRE_LLAMA3 = "llama-bpe";

    /** {@link #TOKEN_TYPE} values ({@code gguf.TokenType}). */
    public static final int TOKEN_NORMAL = 1;
    public static final int TOKEN_UNKNOWN = 2;
    public static final int TOKEN_CONTROL = 3;
    public static final int TOKEN_USER_DEFINED = 4;
    public static final int TOKEN_UNUSED = 5;
    public static final int TOKEN_BYTE = 6;

    /** {@link #FILE_TYPE} values ({@code llama_ftype}) for what woq writes. */
    public static final int FILE_TYPE_ALL_F32 = 0;
    public static final int FILE_TYPE_MOSTLY_Q4_0 = 2;
    public static final int FILE_TYPE_MOSTLY_Q8_0 = 7;
    public static final int FILE_TYPE_MOSTLY_BF16 = 32;
}
