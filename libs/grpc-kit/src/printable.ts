// Text from the network (a framework name, a client_request_id, an error's details) reaches an
// operator's terminal through the tools. A control character in it could clear the screen, set the
// window title or reorder what is shown (ESC sequences, C1 codes, bidirectional overrides); each is
// written as a visible escape instead. Newlines and tabs of the tools' own output stay.

/**
 * C0 controls but tab and newline, DEL, C1 controls, the line and paragraph separators, the
 * bidirectional formatting characters, and the invisible ones (zero-width space, joiners, word
 * joiner and invisible operators, the BOM): "r1" and "r1" + U+200B printed alike, and ids chosen
 * before the proposer refused them are still in the log.
 */
// Matching control characters is this pattern's purpose.
// eslint-disable-next-line no-control-regex
const UNPRINTABLE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/g;

/**
 * `text` with every control character (but tab and newline) written as \uNNNN: visible, and
 * still valid inside a JSON string (the tools' --json output goes through here too).
 */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * A field of network text inside one line of a tool's output (a client_request_id, a content
 * type, a claim): as printable, and its own newlines and tabs escaped too, so that it cannot
 * start a line that reads as the tool's own (the tools' output keeps its newlines).
 */
export function printableField(text: string): string {
  return printable(text).replace(/[\n\t]/g, (c) => (c === '\n' ? '\\u000a' : '\\u0009'));
}

/**
 * DEL, C1 controls, the line and paragraph separators and the bidirectional formatting characters:
 * what JSON.stringify leaves as they are (it escapes only C0), so a JSON log line that quotes
 * network text could still drive the terminal of whoever reads the log with cat or tail.
 */
// eslint-disable-next-line no-control-regex
const RAW_IN_JSON = /[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
// eslint-disable-next-line no-control-regex
const RAW_IN_JSON_ALL = new RegExp(RAW_IN_JSON.source, 'g');

/**
 * A log line with each of those characters written as its \uNNNN escape: inside a JSON line the
 * same text to a JSON reader, and visible to a person; other lines are returned as they are.
 */
export function logLineEscaped(line: string): string {
  return RAW_IN_JSON.test(line) ? line.replace(RAW_IN_JSON_ALL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`) : line;
}
