#!/usr/bin/env node
// node predict.mjs [FILE|-] [options]: what `flair-modernbert predict MODEL [FILE|-]` prints, from the export
// folder this file sits in. One document per input line (plain text, or JSON with a "text" field whose other
// fields are passed through); one JSON line out per line in.
//
//   --types person,email      these types only: the model's and the pattern types (email, url, iban, credit_card, ssn,
//                             ip, phone; case-insensitive, aliases from rules.json such as PER, card), or all;
//                             default: the model's types (with --redact: all)
//   --format auto|text|jsonl  input lines: auto (JSON when a line starts with "{"), text or jsonl
//   --unit sentence|document  tag each sentence, or each line as one sequence
//   --batch-size N            windows per forward pass (default 32)
//   --max-length N            window in subtokens (default: the model's, which gives Python's results exactly)
//   --recall-bias B           the recall knob: the O tag's score lowered by B before decoding, so higher values
//                             hide more; 0 is the model's own decoding (default: crf.json's recall_bias, else 0)
//   --dtype fp32|fp16|q8|q4   the model file: fp16, q8 and q4 run onnx/model_fp16.onnx, model_quantized.onnx,
//                             model_q4.onnx (export --quantize fp16, int8, q4)
//   --redact                  print redacted text instead, as `flair-modernbert redact`: one numbered placeholder
//                             per entity of a line ([PERSON_1]); --placeholder T changes the template,
//                             --no-join-partial keeps `Doe` apart from an earlier `Jane Doe`
//   --model DIR               another export folder (default: this file's folder)

import { createReadStream } from "node:fs";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";

import { JsonError, PyDict, dumps, loads, pyStrip } from "./pyjson.mjs";
import { checkPlaceholder, checkRecallBias, documentLine, loadTagger, numbersEntities, redactDocument } from "./tagger.mjs";

const USAGE = "usage: node predict.mjs [FILE|-] [--types T1,T2] [--format auto|text|jsonl] [--unit sentence|document] " +
  "[--batch-size N] [--max-length N] [--recall-bias B] [--dtype fp32|fp16|q8|q4] [--redact [--placeholder P] [--no-join-partial]] [--model DIR]";

class InputError extends Error {}

function parseArgs(argv) {
  const options = { input: "-", format: "auto", unit: "sentence", batchSize: 32, dtype: "fp32", joinPartial: true };
  const valued = { "--types": "types", "--format": "format", "--unit": "unit", "--batch-size": "batchSize",
    "--max-length": "maxLength", "--recall-bias": "recallBias", "--dtype": "dtype", "--placeholder": "placeholder", "--model": "model" };
  const positional = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "-h" || arg === "--help") return { help: true };
    if (arg === "--redact") options.redact = true;
    else if (arg === "--no-join-partial") options.joinPartial = false;
    else if (valued[arg]) {
      if (i + 1 >= argv.length) throw new InputError(`${arg} needs a value`);
      options[valued[arg]] = argv[++i];
    } else if (arg.startsWith("--")) throw new InputError(`unknown option ${arg}`);
    else positional.push(arg);
  }
  if (positional.length > 1) throw new InputError(`one input at most, got ${positional.join(" ")}`);
  if (positional.length) options.input = positional[0];
  for (const [key, allowed] of [["format", ["auto", "text", "jsonl"]], ["unit", ["sentence", "document"]], ["dtype", ["fp32", "fp16", "q8", "q4"]]]) {
    if (!allowed.includes(options[key])) throw new InputError(`--${key} ${options[key]}: choose one of ${allowed.join(", ")}`);
  }
  for (const key of ["batchSize", "maxLength"]) {
    if (options[key] === undefined) continue;
    const number = Number(options[key]);
    if (!Number.isInteger(number) || number < 1) throw new InputError(`--${key === "batchSize" ? "batch-size" : "max-length"}: expected a number >= 1, got ${options[key]}`);
    options[key] = number;
  }
  if (options.recallBias !== undefined) {
    try {
      options.recallBias = checkRecallBias(options.recallBias, "--recall-bias");
    } catch (error) {
      throw new InputError(error.message);
    }
  }
  return options;
}

/** Numbered lines of a byte stream, split at \n only, decoded as UTF-8 (inference.read_lines). */
async function* readLines(stream, source) {
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  let pending = Buffer.alloc(0);
  let number = 0;
  const decode = (raw) => {
    number++;
    try {
      return [number, decoder.decode(raw)];
    } catch {
      throw new InputError(`${source}, line ${number}: not valid UTF-8`);
    }
  };
  for await (const chunk of stream) {
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    let start = 0;
    let newline;
    while ((newline = pending.indexOf(10, start)) !== -1) {
      let end = newline;
      if (end > start && pending[end - 1] === 13) end--; // \r\n: the \r goes too
      yield decode(pending.subarray(start, end));
      start = newline + 1;
    }
    pending = pending.subarray(start);
  }
  if (pending.length) yield decode(pending); // a last line without \n keeps a trailing \r, as in Python
}

/** One input line as a document (inference.parse_line). */
function parseLine(line, number, source, format) {
  const stripped = pyStrip(line);
  if (format === "text" || (format === "auto" && !stripped.startsWith("{"))) return { text: line, json: false };
  let record;
  try {
    record = loads(stripped);
  } catch (error) {
    if (error instanceof JsonError) throw new InputError(`${source}, line ${number}: not valid JSON (${error.message})`);
    throw error;
  }
  if (!(record instanceof PyDict) || typeof record.map.get("text") !== "string") {
    throw new InputError(`${source}, line ${number}: a JSON line needs a string field "text"`);
  }
  const text = record.map.get("text");
  record.map.delete("text");
  record.map.delete("spans");
  return { text, extra: record.map, json: true };
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  if (options.help) {
    process.stdout.write(USAGE + "\n");
    return 0;
  }
  if (options.placeholder !== undefined) {
    checkPlaceholder(options.placeholder);
    if (!numbersEntities(options.placeholder)) {
      process.stderr.write(`note: --placeholder '${options.placeholder}' has no {n}: every entity of a type gets the same placeholder\n`);
    }
  }
  const source = options.input === "-" ? "<stdin>" : options.input;
  const stream = options.input === "-" ? process.stdin : createReadStream(options.input);
  const opened = new Promise((resolve, reject) => {
    if (options.input === "-") resolve();
    stream.once("open", resolve);
    stream.once("error", (error) => reject(new InputError(error.code === "ENOENT" ? `input file ${options.input} does not exist` : error.message)));
  });
  await opened;
  const folder = options.model ?? dirname(fileURLToPath(import.meta.url));
  const tagger = await loadTagger(folder, {
    dtype: options.dtype, maxLength: options.maxLength, batchSize: options.batchSize, recallBias: options.recallBias,
  });
  const types = tagger.resolveTypes(options.types, options.redact ? "all" : "model");
  const placeholder = options.placeholder ?? tagger.rules.placeholder;
  const write = (text) => process.stdout.write(text + "\n");
  const flush = async (chunk) => {
    const tagged = await tagger.predict(chunk, { types, unit: options.unit });
    for (const doc of tagged) {
      if (!options.redact) write(documentLine(doc));
      else {
        const { text } = redactDocument(doc, placeholder, { joinPartial: options.joinPartial }); // numbered per line
        if (!doc.json) write(text);
        else {
          const fields = [...(doc.extra ?? []), ["text", text]];
          write(dumps(new Map(fields)));
        }
      }
    }
  };
  // like stream_documents: tag ~8 batches of sentences at a time, so memory stays flat
  let chunk = [];
  for await (const [number, line] of readLines(stream, source)) {
    chunk.push(parseLine(line, number, source, options.format));
    if (chunk.length >= 8 * options.batchSize) {
      await flush(chunk);
      chunk = [];
    }
  }
  if (chunk.length) await flush(chunk);
  return 0;
}

process.stdout.on("error", (error) => {
  if (error.code === "EPIPE") process.exit(0); // `... | head`: the reader left
  throw error;
});

// exitCode, not exit(): stdout may still be flushing into a pipe
main().then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    process.stderr.write(`error: ${error.message}\n`);
    process.exitCode = error instanceof InputError || /maxLength|dtype|types|placeholder|crf\.json|rules\.json|export folder/.test(error.message) ? 2 : 1;
  },
);
