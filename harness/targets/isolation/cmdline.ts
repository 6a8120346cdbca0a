/**
 * Splitting the command line of a `cmd:` implementation id into a program
 * and its arguments, the way a POSIX shell splits words, without running a
 * shell (nothing is expanded, nothing is executed but the program itself).
 *
 *   - blanks (space, tab, newline) separate words;
 *   - 'single quotes' keep everything literally;
 *   - "double quotes" keep everything, except that \" \\ \$ \` stand for the
 *     character and backslash-newline is removed;
 *   - outside quotes, a backslash makes the next character literal;
 *   - no expansion of any kind: $VAR, `cmd`, ~, *.py and {a,b} are passed as
 *     written — except that an unquoted | & ; < > ( ) $ ` or a word starting
 *     with ~ or # is refused, since it would mean something else to a shell
 *     (wrap the command in `sh -c '...'` to get a shell, or quote the
 *     character);
 *   - if the whole command line is one quoted word containing blanks (the
 *     shell left the quotes of cmd:"python3 driver.py" in place), that word
 *     is split again.
 */

export class CommandLineError extends Error {}

const META = new Set(["|", "&", ";", "<", ">", "(", ")", "$", "`"]);
const BLANK = /[ \t\n\r]/;

function splitOnce(line: string): { words: string[]; singleQuotedWord: boolean } {
  const words: string[] = [];
  let word = "";
  let inWord = false; // false: between words
  let quotedWhole = true; // every character of the line so far belongs to one quoted run
  let quoteRuns = 0;
  let i = 0;
  const start = () => {
    inWord = true;
  };
  while (i < line.length) {
    const c = line[i];
    if (BLANK.test(c)) {
      if (inWord) {
        words.push(word);
        word = "";
        inWord = false;
      }
      i++;
      continue;
    }
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new CommandLineError(`unterminated ' quote at position ${i + 1}`);
      start();
      word += line.slice(i + 1, end);
      quoteRuns++;
      i = end + 1;
      continue;
    }
    if (c === '"') {
      start();
      let j = i + 1;
      let closed = false;
      while (j < line.length) {
        const d = line[j];
        if (d === '"') {
          closed = true;
          break;
        }
        if (d === "\\" && j + 1 < line.length) {
          const n = line[j + 1];
          if (n === "\n") {
            j += 2;
            continue;
          }
          if (n === '"' || n === "\\" || n === "$" || n === "`") {
            word += n;
            j += 2;
            continue;
          }
        }
        word += d;
        j++;
      }
      if (!closed) throw new CommandLineError(`unterminated " quote at position ${i + 1}`);
      quoteRuns++;
      i = j + 1;
      continue;
    }
    quotedWhole = false;
    if (c === "\\") {
      if (i + 1 >= line.length) throw new CommandLineError("the command line ends with a lone backslash");
      if (line[i + 1] !== "\n") {
        start();
        word += line[i + 1];
      }
      i += 2;
      continue;
    }
    if (META.has(c) || (!inWord && (c === "~" || c === "#"))) {
      throw new CommandLineError(
        `unquoted ${JSON.stringify(c)} at position ${i + 1}: the command runs without a shell ` +
          `(quote the character, or wrap the command in sh -c '...' to use a shell)`,
      );
    }
    start();
    word += c;
    i++;
  }
  if (inWord) words.push(word);
  return { words, singleQuotedWord: quotedWhole && quoteRuns === 1 && words.length === 1 };
}

/** The program and arguments of a command line (see the module comment for the rules). */
export function splitCommandLine(line: string): string[] {
  let { words, singleQuotedWord } = splitOnce(line);
  if (singleQuotedWord && BLANK.test(words[0])) words = splitOnce(words[0]).words;
  if (words.length === 0 || words[0] === "") throw new CommandLineError("the command line is empty");
  return words;
}
