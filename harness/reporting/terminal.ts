/**
 * Text bound for the terminal. Much of what aiospec prints quotes others: an
 * implementation's id, description, output and error messages, a scenario's
 * names, a baseline's patterns. Any of them may hold control characters, and
 * a terminal obeys those (ESC sequences recolour, clear, retitle, move the
 * cursor; CR overwrites a line). So everything printed goes through
 * printableLines, which keeps the line breaks and writes every other control
 * character as a visible \xNN escape. The JSON outputs need nothing: JSON
 * escapes control characters itself.
 */

/**
 * C0 controls other than the newline (ESC, CR, BEL, TAB...), DEL and the C1
 * codes (U+0080..U+009F: U+009B is a one-character CSI to some terminals).
 */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/g;

/** `message` with its lines kept and every other control character written as \xNN. */
export function printableLines(message: string): string {
  return message.replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

/** Write text to stdout, escaped (printableLines). */
export function toStdout(text: string): void {
  process.stdout.write(printableLines(text));
}

/** Write text to stderr, escaped (printableLines). */
export function toStderr(text: string): void {
  process.stderr.write(printableLines(text));
}
