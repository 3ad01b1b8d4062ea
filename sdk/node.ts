/**
 * @router/sdk/node: the SDK with the `ws` package as its WebSocket, for Node 20 (which has no
 * global one). Browsers import "@router/sdk", which never loads `ws`.
 */
import WebSocket from "ws";
import { useWebSocket, type WebSocketConstructor } from "./websocket.ts";

useWebSocket(WebSocket as unknown as WebSocketConstructor);

export * from "./index.ts";
