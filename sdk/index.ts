/**
 * @router/sdk: the client SDK of the router, for browsers and Node (docs/protocol.md).
 * On Node 20, which has no global WebSocket, import "@router/sdk/node" instead.
 */
export { ChatClient, ClientStoppedError } from "./chat-client.ts";
export type { ChatClientEvents, ChatClientOptions, ClientState, SendOptions, SendTarget, StateChange, TokenSource } from "./chat-client.ts";
export { ConnectionClosedError, RequestError, RouterClient } from "./client.ts";
export type { ClientOptions, CloseInfo } from "./client.ts";
export { AccountError, finishVerification, refreshSession, startVerification } from "./accounts.ts";
export type { Session } from "./accounts.ts";
export { downloadMedia, MediaError, uploadMedia } from "./media.ts";
export { decodeFrame, encodeFrame } from "./codec.ts";
export { actionForClose, backoffDelay, tokenExpiry } from "./reconnect.ts";
export type { BackoffOptions, CloseAction } from "./reconnect.ts";
export { useWebSocket } from "./websocket.ts";
export type { WebSocketConstructor, WebSocketLike } from "./websocket.ts";
export { CLOSE_CODES, directChatId, ERROR_CODES } from "./frames.ts";
export type * from "./frames.ts";
