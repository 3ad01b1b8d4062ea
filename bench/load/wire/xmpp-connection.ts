import { connect, type Socket } from "node:net";
import { attribute, childText, XmlStreamSplitter, type XmlElement } from "./xml-stream.ts";

const STREAM_NS = "http://etherx.jabber.org/streams";
const SM_NS = "urn:xmpp:sm:3";

export interface XmppEndpoint {
  host: string;
  port: number;
  domain: string;
}

export interface XmppHandlers {
  /** A `<message>` with a body arrived. */
  message(body: string): void;
  /** The server confirmed (XEP-0198 `<a h=>`) it has handled `h` of our stanzas. */
  handled(h: number): void;
  closed(): void;
}

interface Waiter {
  match(element: XmlElement): boolean;
  resolve(element: XmlElement): void;
  reject(error: Error): void;
}

/**
 * A minimal XMPP client over plain TCP for load: stream, in-band registration (XEP-0077),
 * SASL PLAIN, bind, stream management (XEP-0198) and chat messages. Setup steps await their
 * answer; messages and acks are callbacks, with no promise per stanza.
 */
export class XmppConnection {
  private readonly splitter = new XmlStreamSplitter();
  private waiters: Waiter[] = [];
  private smEnabled = false;
  /** Stanzas received since stream management was enabled, for our `<a h=>` answers. */
  private received = 0;
  /** Stanzas sent since stream management was enabled: the number the server's `h` counts to. */
  private sentStanzas = 0;
  private open = true;

  private constructor(
    private readonly socket: Socket,
    private readonly endpoint: XmppEndpoint,
    private readonly handlers: XmppHandlers,
  ) {
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      for (const element of this.splitter.push(chunk)) this.onElement(element);
    });
    socket.on("close", () => {
      this.open = false;
      for (const waiter of this.waiters) waiter.reject(new Error("connection closed"));
      this.waiters = [];
      handlers.closed();
    });
    socket.on("error", () => {});
  }

  static connect(endpoint: XmppEndpoint, localAddress: string, handlers: XmppHandlers): Promise<XmppConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: endpoint.host, port: endpoint.port, localAddress, noDelay: true });
      socket.once("error", reject);
      socket.once("connect", () => {
        socket.off("error", reject);
        resolve(new XmppConnection(socket, endpoint, handlers));
      });
    });
  }

  get isOpen(): boolean {
    return this.open;
  }

  /** Creates the account; an existing one (from an earlier run of the same node) is fine. */
  async register(user: string, password: string, timeoutMs: number): Promise<"created" | "exists"> {
    await this.openStream(timeoutMs);
    const answer = this.waitFor((el) => el.name === "iq", timeoutMs);
    this.socket.write(`<iq type='set' id='reg1'><query xmlns='jabber:iq:register'><username>${user}</username><password>${password}</password></query></iq>`);
    const iq = await answer;
    if (attribute(iq.xml, "type") === "result") return "created";
    if (iq.xml.includes("<conflict")) return "exists";
    throw new Error(`${user}: registration refused: ${iq.xml.slice(0, 300)}`);
  }

  /** SASL PLAIN, bind, stream management, initial presence. */
  async login(user: string, password: string, timeoutMs: number): Promise<void> {
    await this.openStream(timeoutMs);
    const auth = Buffer.from(`\0${user}\0${password}`).toString("base64");
    const success = this.waitFor((el) => el.name === "success", timeoutMs);
    this.socket.write(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${auth}</auth>`);
    await success;
    await this.openStream(timeoutMs);
    const bound = this.waitFor((el) => el.name === "iq", timeoutMs);
    this.socket.write(`<iq type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>bench</resource></bind></iq>`);
    const bind = await bound;
    if (attribute(bind.xml, "type") !== "result") throw new Error(`${user}: bind refused: ${bind.xml.slice(0, 300)}`);
    const enabled = this.waitFor((el) => el.name === "enabled", timeoutMs);
    this.socket.write(`<enable xmlns='${SM_NS}'/>`);
    await enabled;
    this.smEnabled = true;
    this.send("<presence/>");
  }

  /** A chat message and a request for the server's ack; returns the message's stanza number. */
  sendChat(toUser: string, body: string): number {
    return this.send(`<message type='chat' to='${toUser}@${this.endpoint.domain}'><body>${body}</body></message><r xmlns='${SM_NS}'/>`);
  }

  terminate(): void {
    this.socket.destroy();
  }

  close(): Promise<void> {
    if (!this.open) return Promise.resolve();
    return new Promise((resolve) => {
      this.socket.once("close", () => resolve());
      this.socket.end("</stream:stream>");
    });
  }

  /** Writes one stanza (the ack request that may follow it is not one). */
  private send(stanza: string): number {
    if (this.open) this.socket.write(stanza);
    if (this.smEnabled) this.sentStanzas += 1;
    return this.sentStanzas;
  }

  private async openStream(timeoutMs: number): Promise<void> {
    const features = this.waitFor((el) => el.name === "stream:features", timeoutMs);
    this.socket.write(`<?xml version='1.0'?><stream:stream to='${this.endpoint.domain}' xmlns='jabber:client' xmlns:stream='${STREAM_NS}' version='1.0'>`);
    await features;
  }

  private waitFor(match: (element: XmlElement) => boolean, timeoutMs: number): Promise<XmlElement> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer from the XMPP server in ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({
        match,
        resolve: (element) => {
          clearTimeout(timer);
          resolve(element);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
    });
  }

  private onElement(element: XmlElement): void {
    const { name, xml } = element;
    if (this.smEnabled && (name === "message" || name === "presence" || name === "iq")) this.received += 1;
    switch (name) {
      case "message": {
        const body = childText(xml, "body");
        if (body !== undefined) this.handlers.message(body);
        return;
      }
      case "a": {
        const h = Number(attribute(xml, "h"));
        if (Number.isFinite(h)) this.handlers.handled(h);
        return;
      }
      case "r":
        this.socket.write(`<a xmlns='${SM_NS}' h='${this.received}'/>`);
        return;
    }
    const waiter = this.waiters[0];
    if (waiter?.match(element)) {
      this.waiters.shift();
      waiter.resolve(element);
      return;
    }
    if (name === "stream:error" || name === "failure" || name === "/stream:stream") {
      this.waiters.shift()?.reject(new Error(`XMPP server: ${xml.slice(0, 300)}`));
    }
  }
}
