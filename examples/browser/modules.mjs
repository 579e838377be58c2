// Import a module inside a Web Worker as the page's import map would resolve it.
//
// Import maps do not apply inside module workers: there a bare specifier such as "@huggingface/transformers" (which
// the export's tagger.mjs imports, so that the same file runs in Node) fails to resolve. importMapped() fetches the
// module's source, points the specifiers of its import and export statements at absolute URLs (bare ones through
// the page's import map, relative ones against the module's own URL) and imports that text from a blob: URL. The
// modules it imports load from their own URLs as usual, so they need no rewriting as long as they import nothing
// bare (true of the export's other modules). No build step, and the files on the server stay as they are.

/** `import ... from "x"`, `export ... from "x"` and `import "x"` at the start of a line (not dynamic import()). */
const STATIC_IMPORT = /^(\s*(?:(?:import|export)\b[^;"'`]*?\bfrom\s*|import\s*))(["'])([^"'\n]+)\2/gm;

/**
 * The absolute URL a specifier of the module at `base` stands for.
 * @param {string} specifier
 * @param {string} base the importing module's URL
 * @param {Record<string, string>} imports the import map's "imports", values as absolute URLs
 * @returns {string}
 */
export function resolveSpecifier(specifier, base, imports) {
  if (Object.hasOwn(imports, specifier)) return imports[specifier];
  if (/^\.{0,2}\//.test(specifier) || /^[a-z][a-z\d+.-]*:/i.test(specifier)) return new URL(specifier, base).href;
  throw new Error(`${base}: cannot import "${specifier}": the page's import map does not name it`);
}

/**
 * The module's source with absolute specifiers in its static import and export statements.
 * @param {string} source
 * @param {string} base the module's URL
 * @param {Record<string, string>} imports
 * @returns {string}
 */
export function mapSpecifiers(source, base, imports) {
  return source.replace(STATIC_IMPORT, (_, head, quote, specifier) =>
    head + quote + resolveSpecifier(specifier, base, imports) + quote);
}

/**
 * Import the module at `url` with the page's import map applied to it.
 * @param {string} url absolute URL of the module
 * @param {Record<string, string>} imports the import map's "imports", values as absolute URLs
 * @returns {Promise<any>} the module's namespace
 */
export async function importMapped(url, imports) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  const blob = URL.createObjectURL(new Blob([mapSpecifiers(await response.text(), url, imports)], { type: "text/javascript" }));
  try {
    return await import(blob);
  } finally {
    URL.revokeObjectURL(blob);
  }
}
