#!/usr/bin/env node
// node check-tokenizer.mjs FOLDER WORDS.json: the subtoken ids Transformers.js gives each word with FOLDER's
// tokenizer.json, as the module's Tagger.wordIds computes them. Prints {"ids": [[id, ...] per word]} on one line.
//
// flair-modernbert export runs it on the folder it writes (when Node and this module's node_modules are there) and
// compares with Python's is_split_into_words ids: a tokenizer.json that Transformers.js reads differently from the
// Rust tokenizers library (or cannot read at all) is refused before the folder is kept.

import { readFileSync } from "node:fs";

import { AutoTokenizer, env } from "@huggingface/transformers";

const [folder, wordsFile] = process.argv.slice(2);
if (!folder || !wordsFile) {
  process.stderr.write("usage: node check-tokenizer.mjs FOLDER WORDS.json\n");
  process.exit(2);
}
env.allowLocalModels = true;
env.allowRemoteModels = false;
try {
  const words = JSON.parse(readFileSync(wordsFile, "utf-8"));
  const tokenizer = await AutoTokenizer.from_pretrained(folder);
  const ids = words.map((word) => Array.from(tokenizer.encode(word, { add_special_tokens: false })));
  process.stdout.write(JSON.stringify({ ids }) + "\n");
} catch (error) {
  process.stderr.write(`error: ${error.message}\n`);
  process.exitCode = 1;
}
