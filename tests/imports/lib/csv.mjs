// CSV for the import tests: a writer (RFC 4180 quoting, any delimiter, BOM, CRLF or LF), a
// quote-aware reader (for the errors file), valid phone numbers, and a generator of large files
// whose outcome (inserted / duplicates / invalid) is known by construction.

/** One cell, quoted when it holds the delimiter, a quote, CR or LF, or leading/trailing blanks. */
export function csvCell(value, delimiter = ",") {
  const s = value === null || value === undefined ? "" : String(value);
  if (s.includes(delimiter) || /["\r\n]/.test(s) || /^\s|\s$/.test(s)) return `"${s.replace(/"/g, '""')}"`;
  return s;
}

/**
 * A CSV text from a header and rows (arrays of cells).
 * @param {string[]} header
 * @param {Array<Array<string|number|null>>} rows
 * @param {{delimiter?: string, eol?: string, bom?: boolean, trailingNewline?: boolean}} [options]
 */
export function toCsv(header, rows, { delimiter = ",", eol = "\r\n", bom = false, trailingNewline = true } = {}) {
  const lines = [header, ...rows].map((r) => r.map((c) => csvCell(c, delimiter)).join(delimiter));
  return (bom ? "\uFEFF" : "") + lines.join(eol) + (trailingNewline ? eol : "");
}

/**
 * Parses CSV text (RFC 4180: quoted fields with delimiters, CR/LF and doubled quotes; CRLF or LF
 * records; a trailing newline does not make an empty record). → array of records (string arrays).
 */
export function parseCsv(text, delimiter = ",") {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const records = [];
  let record = [];
  let field = "";
  let quoted = false;
  let i = 0;
  let fieldStarted = false;
  while (i < text.length) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
        i += 1;
        continue;
      }
      field += c;
      i += 1;
      continue;
    }
    if (c === '"' && field === "") {
      quoted = true;
      fieldStarted = true;
      i += 1;
      continue;
    }
    if (c === delimiter) {
      record.push(field);
      field = "";
      fieldStarted = true;
      i += 1;
      continue;
    }
    if (c === "\r" || c === "\n") {
      record.push(field);
      records.push(record);
      record = [];
      field = "";
      fieldStarted = false;
      i += c === "\r" && text[i + 1] === "\n" ? 2 : 1;
      continue;
    }
    field += c;
    fieldStarted = true;
    i += 1;
  }
  if (fieldStarted || field !== "" || record.length > 0) {
    record.push(field);
    records.push(record);
  }
  return records;
}

// ---- phone numbers ------------------------------------------------------------------------------

/**
 * A valid US number of the 415-555 block (n in 0..9999), in several spellings that all normalize
 * to the same E.164 number.
 */
export function phone(n) {
  const line = String(n % 10000).padStart(4, "0");
  return {
    display: `(415) 555-${line}`,
    dashed: `415-555-${line}`,
    spaced: `+1 415 555 ${line}`,
    e164: `+1415555${line}`,
  };
}

const AREA_CODES = ["212", "310", "415", "512", "617", "646", "702", "718", "773", "917"];

/** A valid US number, distinct for every index up to several millions (E.164). */
export function bigPhone(index) {
  const area = AREA_CODES[index % AREA_CODES.length];
  const k = Math.floor(index / AREA_CODES.length);
  let exchange = 201 + (Math.floor(k / 10000) % 790);
  if (exchange % 100 === 11) exchange += 1;
  const line = String(k % 10000).padStart(4, "0");
  return `+1${area}${exchange}${line}`;
}

// ---- generated files ----------------------------------------------------------------------------

/**
 * What row `i` (0-based data row) of a generated file is, by construction:
 *   i % 100 == 37 → invalid (empty name)
 *   i % 100 == 73 → invalid (bad phone, no email)
 *   i % 100 in {11, 61} → duplicate of row i - 7 (its email, in upper case)
 *   otherwise      → valid, a distinct email; every third row also a distinct phone
 */
export function generatedRowKind(i) {
  const m = i % 100;
  if (m === 37 || m === 73) return "invalid";
  if ((m === 11 || m === 61) && i >= 7) return "duplicate";
  return "valid";
}

/**
 * A CSV file of `rows` data rows (header `name,email,phone,company`) whose outcome is known.
 * `tag` makes the emails distinct from other files'. → {csv, expected: {totalRows, valid, duplicates, invalid}}
 */
export function generateFile(rows, { tag = "g", eol = "\n" } = {}) {
  const emailOf = (i) => `${tag}.${i}@example.com`;
  const parts = ["name,email,phone,company"];
  const expected = { totalRows: rows, valid: 0, duplicates: 0, invalid: 0 };
  for (let i = 0; i < rows; i += 1) {
    const kind = generatedRowKind(i);
    const m = i % 100;
    if (kind === "invalid") {
      expected.invalid += 1;
      if (m === 37) parts.push(`,${emailOf(i)},,Nameless Inc`);
      else parts.push(`Bad Phone ${i},,12345,`);
    } else if (kind === "duplicate") {
      expected.duplicates += 1;
      parts.push(`Dup ${i},${emailOf(i - 7).toUpperCase()},,`);
    } else {
      expected.valid += 1;
      const ph = i % 3 === 0 ? bigPhone(i) : "";
      parts.push(`Person ${i} Generated,${emailOf(i)},${ph},${i % 2 ? `"Company ${i}, Ltd"` : ""}`);
    }
  }
  return { csv: parts.join(eol) + eol, expected };
}
