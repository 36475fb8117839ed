// Reads the start of a CSV file in the browser: sniffs the delimiter the way lms does
// (src/imports/csv_reader.cpp), parses the header and a few sample rows (RFC 4180 quotes), and
// guesses each column's field with the server's synonyms (src/imports/header_mapping.cpp).

export const HEAD_BYTES = 64 * 1024;
const SAMPLE_ROWS = 3;

/** The fields a column may be mapped to (the server's accepted `mapping` values). */
export const MAPPING_FIELDS = [
  "name", "firstName", "lastName", "phone", "email", "company", "source", "status", "tags", "custom", "ignore",
];

/** Fields at most one column may take. */
export const SINGLE_FIELDS = new Set(["name", "firstName", "lastName", "phone", "email", "company", "source", "status", "tags"]);

const SYNONYMS = new Map(
  Object.entries({
    name: ["name", "full name", "fullname", "contact name"],
    firstName: ["first name", "firstname", "given name", "givenname", "forename"],
    lastName: ["last name", "lastname", "surname", "family name", "familyname"],
    phone: [
      "phone", "phone number", "phonenumber", "phone no", "mobile", "mobile phone", "mobile number", "tel",
      "telephone", "telephone number", "cell", "cell phone", "cellphone",
    ],
    email: ["email", "e mail", "email address", "e mail address", "emailaddress"],
    company: [
      "company", "company name", "companyname", "organization", "organisation", "organization name",
      "organisation name",
    ],
    source: ["source", "lead source"],
    status: ["status", "lead status"],
    tags: ["tags", "tag"],
  }).flatMap(([field, names]) => names.map((n) => [n, field])),
);

/** Lower case, trimmed, runs of spaces, `_` and `-` as one space (the server's normalize_header). */
export function normalizeHeader(text) {
  return text.trim().toLowerCase().split(/[\s_-]+/).filter(Boolean).join(" ");
}

/** `,` `;` or tab: the most frequent outside quotes on the first line (ties: comma, then `;`). */
export function sniffDelimiter(text) {
  let commas = 0, semicolons = 0, tabs = 0, inQuotes = false;
  for (const c of text) {
    if (c === '"') inQuotes = !inQuotes;
    else if (!inQuotes) {
      if (c === "\n" || c === "\r") break;
      if (c === ",") commas += 1;
      else if (c === ";") semicolons += 1;
      else if (c === "\t") tabs += 1;
    }
  }
  if (semicolons > commas && semicolons >= tabs) return ";";
  if (tabs > commas && tabs > semicolons) return "\t";
  return ",";
}

/**
 * Up to `limit` records of `text` (RFC 4180: quoted fields, "" escapes, line breaks inside
 * quotes, CRLF/LF/CR). Empty lines are skipped. A last record without a line break is kept
 * only when `complete` (the text is the whole file), or when it is the only one (a long header).
 */
export function parseRecords(text, delimiter, limit, complete = true) {
  const records = [];
  let record = [], field = "", inQuotes = false, i = 0;
  const endRecord = () => {
    record.push(field);
    if (!(record.length === 1 && record[0] === "")) records.push(record);
    record = [];
    field = "";
  };
  while (i < text.length && records.length < limit) {
    const c = text[i];
    if (inQuotes) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i += 2; continue; }
      if (c === '"') inQuotes = false;
      else field += c;
      i += 1;
    } else if (c === '"') {
      inQuotes = true;
      i += 1;
    } else if (c === delimiter) {
      record.push(field);
      field = "";
      i += 1;
    } else if (c === "\r" || c === "\n") {
      endRecord();
      i += c === "\r" && text[i + 1] === "\n" ? 2 : 1;
    } else {
      field += c;
      i += 1;
    }
  }
  const pending = field !== "" || record.length > 0;
  if (pending && records.length < limit && (complete || records.length === 0)) endRecord();
  return records;
}

/** The field lms would give each header without a mapping: a synonym, else custom; a field already taken: custom. */
export function guessMapping(headers) {
  const taken = new Set();
  return headers.map((header) => {
    const field = SYNONYMS.get(normalizeHeader(header));
    if (!field || taken.has(field)) return "custom";
    taken.add(field);
    return field;
  });
}

/** What is missing or contradictory in a mapping (list of {header, field}), as sentences; empty when usable. */
export function mappingProblems(columns) {
  const problems = [];
  const byField = new Map();
  for (const { header, field } of columns) {
    if (!SINGLE_FIELDS.has(field)) continue;
    if (byField.has(field)) problems.push(`"${byField.get(field)}" and "${header}" are both mapped to ${field}.`);
    else byField.set(field, header);
  }
  const hasName = byField.has("name") || byField.has("firstName") || byField.has("lastName");
  if (!hasName) problems.push("Map a column to name (or to first and last name).");
  if (!byField.has("phone") && !byField.has("email")) problems.push("Map a column to phone or to email.");
  const seen = new Set();
  for (const { header } of columns) {
    if (seen.has(header)) problems.push(`The file has two columns named "${header}"; rename one in the file.`);
    seen.add(header);
  }
  return problems;
}

/** The mapping query parameter: {csvHeader: field} for every column. */
export function mappingParameter(columns) {
  return JSON.stringify(Object.fromEntries(columns.map(({ header, field }) => [header, field])));
}

/**
 * Reads the head of `file` → {delimiter, columns: [{header, field, samples: [string]}]}.
 * Throws an Error with a user-readable message when the file has no header.
 */
export async function readCsvHead(file) {
  let text = await file.slice(0, HEAD_BYTES).text();
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const delimiter = sniffDelimiter(text);
  const [headers = [], ...rows] = parseRecords(text, delimiter, 1 + SAMPLE_ROWS, file.size <= HEAD_BYTES);
  if (headers.length === 0 || headers.every((h) => h.trim() === "")) {
    throw new Error("The file is empty or its first line is not a CSV header.");
  }
  const fields = guessMapping(headers);
  const columns = headers.map((header, i) => ({
    header: header.trim(),
    field: fields[i],
    samples: rows.map((row) => row[i] ?? "").filter((v) => v !== ""),
  }));
  return { delimiter, columns, sampleRows: rows.length };
}
