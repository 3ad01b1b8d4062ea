// STOPGAP until the SDK package lands: the page's one seam to the router.
import { Packr, Unpackr } from "msgpackr";

const packr = new Packr({ useRecords: false, variableMapSize: true, skipValues: [undefined] });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true });

export async function connectDemo({ token, device, onState, onFrame }) {
  const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`;
  let socket;
  let next = 1;
  const waiting = new Map();
  const acked = new Map();
  function open() {
    onState("connecting");
    socket = new WebSocket(url);
    socket.binaryType = "arraybuffer";
    socket.addEventListener("open", () => {
      const r = next++;
      waiting.set(r, { resolve: () => {}, reject: () => {} });
      socket.send(packr.pack({ t: "hello", r, token, device }));
    });
    socket.addEventListener("message", (event) => {
      const frame = unpackr.unpack(new Uint8Array(event.data));
      if (frame.r !== undefined && waiting.has(frame.r)) {
        const waiter = waiting.get(frame.r);
        waiting.delete(frame.r);
        if (frame.t === "err") waiter.reject(new Error(`${frame.code}: ${frame.msg}`));
        else waiter.resolve(frame);
        return;
      }
      if (frame.t === "synced") onState("online");
      if (frame.t === "msg") {
        if ((acked.get(frame.chat) ?? 0) < frame.seq) {
          acked.set(frame.chat, frame.seq);
          socket.send(packr.pack({ t: "ack", chat: frame.chat, seq: frame.seq }));
        }
      }
      onFrame(frame);
    });
    socket.addEventListener("close", () => {
      onState("offline");
      setTimeout(open, 1000);
    });
  }
  open();
  const request = (frame) =>
    new Promise((resolve, reject) => {
      const r = next++;
      waiting.set(r, { resolve, reject });
      socket.send(packr.pack({ ...frame, r }));
    });
  return {
    chats: (options) => request({ t: "chats", ...options }),
    history: (chat, before, limit) => request({ t: "history", chat, before, limit }),
    send: (to, body, { cid }) => request({ t: "send", cid, to, body }),
    sendToGroup: (group, body, { cid }) => request({ t: "send", cid, group, body }),
    sendMedia: (target, media, caption) => request({ t: "send", cid: crypto.randomUUID(), ...target, body: caption, kind: "media", media }),
    group: (t, fields) => request({ t: `group.${t}`, ...fields }),
    watch: (users) => socket.send(packr.pack({ t: "watch", users })),
    typing: (chat, on) => socket.send(packr.pack({ t: "typing", chat, on })),
    read: (chat, seq) => socket.send(packr.pack({ t: "read", chat, seq })),
    async upload(bytes, mime) {
      const response = await fetch("/media", { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": mime }, body: bytes });
      if (response.status !== 201) throw new Error(`upload failed (${response.status})`);
      return response.json();
    },
    async download(id) {
      const response = await fetch(`/media/${id}`, { headers: { authorization: `Bearer ${token}` } });
      if (!response.ok) throw new Error(`download failed (${response.status})`);
      return new Uint8Array(await response.arrayBuffer());
    },
  };
}
