import { ChatClient } from "../index.ts";

export async function tenLines(url: string, token: () => Promise<string>, log = console.log): Promise<void> {
  const client = new ChatClient({ url, token }); // token: a function, asked again before expiry and after 4001
  client.on("message", (m) => log(`${m.from}: ${m.body}`)); // each message once, in order, across reconnects
  client.on("state", (s) => log(`connection ${s.state}`)); // connecting, ready, waiting (backoff), stopped
  await client.start(); // connected, and caught up on what arrived while away
  const sent = await client.send({ to: "bob" }, "hi bob"); // resolves once durable; resent with its cid after a drop
  log(`stored as ${sent.chat} #${sent.seq}`);
  await client.stop();
}
