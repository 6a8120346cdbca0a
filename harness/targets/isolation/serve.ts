/**
 * The child-process side of an isolated TypeScript implementation: load it
 * (harness/targets/isolation/load.ts), say "ready", then run the scenarios the parent
 * sends, one at a time, with the shared interpreter, and send back each trace
 * as JSON text (or the reason there is none).
 *
 * Whatever the implementation does to this process (loop forever, exit, kill
 * itself, throw from a timer, exhaust memory) is the parent's to notice: it
 * watches the process (child-engine.ts), not this code.
 */
import { runScenario } from "../../engine/interpreter";
import { LoadError, loadImplementation, describeThrown } from "./load";
import type { ImplSpec } from "./load";
import type { AsyncioImplementation } from "../../engine/api";
import type { Scenario } from "../../../spec/scenario/types";

export type ToChild = { t: "run"; seq: number; scenario: Scenario };
export type FromChild =
  | { t: "ready"; info: import("./load").LoadedInfo }
  | { t: "load-error"; message: string }
  | { t: "uncaught"; message: string }
  | { t: "result"; seq: number; json: string }
  | { t: "result"; seq: number; error: string; overLimit?: number };

/** How the child talks to its parent: a reply, and the requests. */
export interface Channel {
  post(m: FromChild): void;
  onMessage(cb: (m: ToChild) => void): void;
}

function timersPending(): number {
  let n = 0;
  for (const r of process.getActiveResourcesInfo()) if (r === "Timeout" || r === "Immediate") n++;
  return n;
}

/**
 * Let the thread's own event loop turn before answering, so that what the
 * case set off (a rejected promise nobody handles, a callback that throws
 * from setImmediate or from a zero-delay timer) fails this case rather than
 * a later one. A timer only costs a turn when the case left new ones behind.
 */
async function settle(timersBefore: number): Promise<void> {
  await new Promise<void>((r) => setImmediate(r));
  if (timersPending() > timersBefore) await new Promise<void>((r) => setTimeout(r, 0));
}

async function runCase(post: Channel["post"], maxReplyBytes: number, impl: AsyncioImplementation, msg: ToChild): Promise<void> {
  const before = timersPending();
  let reply: FromChild;
  try {
    const trace = runScenario(impl, msg.scenario);
    let json: string | undefined;
    try {
      json = JSON.stringify(trace);
    } catch (e) {
      throw new Error(`the trace cannot be serialised: ${describeThrown(e)}`);
    }
    if (typeof json !== "string") throw new Error("the trace cannot be serialised");
    const bytes = Buffer.byteLength(json, "utf8");
    if (bytes > maxReplyBytes) {
      reply = {
        t: "result",
        seq: msg.seq,
        error: `the trace is ${(bytes / 1048576).toFixed(1)} MiB of JSON, over the ${(maxReplyBytes / 1048576).toFixed(1)} MiB limit`,
        // The limit it was held to: the parent tells this failure from the others (ReplyTooLarge).
        overLimit: maxReplyBytes,
      };
    } else {
      reply = { t: "result", seq: msg.seq, json };
    }
  } catch (e) {
    reply = { t: "result", seq: msg.seq, error: describeThrown(e) };
  }
  await settle(before);
  post(reply);
}

/** Load the implementation, then serve cases on the channel until the process ends. */
export function serve(channel: Channel, spec: ImplSpec, maxReplyBytes: number): void {
  // Listening from the start keeps the process alive while the module loads:
  // a factory whose promise never settles is a load that never ends (the
  // parent's start timeout), not a process that quietly exits.
  const loading = loadImplementation(spec);
  loading.catch((e) => channel.post({ t: "load-error", message: e instanceof LoadError ? e.message : describeThrown(e) }));
  channel.onMessage((msg) => {
    if (msg?.t !== "run") return;
    void loading.then((loaded) => runCase(channel.post, maxReplyBytes, loaded.impl, msg));
  });
  loading.then((loaded) => channel.post({ t: "ready", info: loaded.info }), () => {});
}
