/**
 * Progress while clauses run. On a terminal (stderr is a TTY and CI is not
 * set): a progress bar on stderr (cli-progress), with the per-clause lines
 * printed above it. Otherwise: plain lines only, one per finished clause,
 * on stdout.
 */
import { MultiBar, Presets, SingleBar } from "cli-progress";

export interface Progress {
  /** A clause started / made progress (cases so far). */
  update(index: number, cases: number): void;
  /** A clause finished, with its status (failures and flaky clauses are counted on the bar). */
  finished(index: number, status?: string): void;
  /** Print a line on stdout without tearing the bar. */
  line(text: string): void;
  stop(): void;
}

export function useBar(): boolean {
  return Boolean(process.stderr.isTTY) && !process.env.CI;
}

export function makeProgress(total: number, runs: number, label: string): Progress {
  if (!useBar()) {
    return {
      update() {},
      finished() {},
      line: (text) => void process.stdout.write(text + "\n"),
      stop() {},
    };
  }
  const multi = new MultiBar(
    {
      stream: process.stderr,
      format: `${label} {bar} {value}/{total} clauses | {cases} scenarios | {failed} failed{flaky} | {duration_formatted} elapsed, ETA {eta_formatted}`,
      hideCursor: true,
      clearOnComplete: true,
      etaBuffer: 20,
      fps: 8,
      gracefulExit: false, // aiospec handles Ctrl-C itself (reports first)
    },
    Presets.shades_classic,
  );
  const bar: SingleBar = multi.create(total, 0, { cases: 0, failed: 0, flaky: "" });
  const running = new Map<number, number>();
  let doneCases = 0;
  let failed = 0;
  let flaky = 0;
  const flakyText = () => (flaky ? `, ${flaky} flaky` : "");
  const stdoutIsTerminal = Boolean(process.stdout.isTTY);
  const cases = () => doneCases + [...running.values()].reduce((a, b) => a + b, 0);
  return {
    update(index, n) {
      running.set(index, Math.min(n, runs));
      bar.update({ cases: cases(), failed, flaky: flakyText() });
    },
    finished(index, status) {
      doneCases += runs;
      running.delete(index);
      if (status === "fail" || status === "error") failed++;
      if (status === "flaky") flaky++;
      bar.increment(1, { cases: cases(), failed, flaky: flakyText() });
    },
    line(text) {
      if (stdoutIsTerminal) {
        // Printed above the bar at once (update() flushes the log and redraws).
        multi.log(text + "\n");
        multi.update();
      } else process.stdout.write(text + "\n");
    },
    stop() {
      multi.update();
      multi.stop();
    },
  };
}
