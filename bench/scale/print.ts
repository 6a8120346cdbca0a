/**
 * One scale scenario as a driver request line, for profiling the driver on it:
 *
 *   npx ts-node -T bench/scale/print.ts tasks 10000 > /tmp/tasks.jsonl
 *   python3 -m cProfile -s tottime implementations/python/aiospec_driver.py < /tmp/tasks.jsonl
 */
import { scenario, SHAPES, type Shape } from "./shapes";

const [shape, steps] = [process.argv[2] as Shape, Number(process.argv[3])];
if (!SHAPES.includes(shape) || !Number.isInteger(steps) || steps < 1) {
  process.stderr.write(`usage: ts-node -T bench/scale/print.ts ${SHAPES.join("|")} STEPS\n`);
  process.exit(2);
}
process.stdout.write(JSON.stringify({ id: 1, scenario: scenario(shape, steps).scenario }) + "\n");
