/**
 * `instanceof` across copies of a module.
 *
 * An implementation under test and the harness that runs it can hold two
 * copies of the same aiospec module: the compiled package and its TypeScript
 * sources (a checkout running dist/ while a test fixture imports the
 * sources), or two installs of the package in one project. A class compared
 * by identity would then fail to recognise an exception thrown by the other
 * copy, and a CancelledError would look like a crash. A branded class answers
 * `instanceof` by a symbol in the global registry, which both copies share.
 */
export function brand(cls: abstract new (...args: never[]) => object, name: string): void {
  const mark = Symbol.for(`aiospec.${name}`);
  Object.defineProperty(cls.prototype, mark, { value: true });
  Object.defineProperty(cls, Symbol.hasInstance, {
    value: (x: unknown) => typeof x === "object" && x !== null && (x as Record<symbol, unknown>)[mark] === true,
  });
}
