import type { Tell, TellIfActive } from "../seams.ts";
import type { NodeTracing } from "./tracing.ts";

/** `behaviour`, its handling of each traced message in a span named after its kind and type. */
export function tracedBehaviour<B extends { handle(state: never, message: never, key: string): unknown }>(kind: string, behaviour: B, tracing: NodeTracing): B {
  const handle = behaviour.handle.bind(behaviour) as (state: unknown, message: object, key: string) => unknown;
  // Inherits everything else the behaviour has (crash answers, passivation rules).
  const traced = Object.create(behaviour) as B & { handle: unknown };
  traced.handle = (state: unknown, message: object, key: string) => tracing.handled(kind, message, () => handle(state, message, key));
  return traced;
}

/** A directory that remembers, for each message told, the trace it was told in. */
export class TracedDirectory<Msg extends object> implements Tell<Msg>, TellIfActive<Msg> {
  constructor(
    private readonly directory: Tell<Msg> & TellIfActive<Msg>,
    private readonly tracing: NodeTracing,
  ) {}

  tell(key: string, message: Msg): void {
    this.tracing.told(message);
    this.directory.tell(key, message);
  }

  tellIfActive(key: string, message: Msg): boolean {
    this.tracing.told(message);
    return this.directory.tellIfActive(key, message);
  }
}
