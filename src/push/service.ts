import { directChatMembers, isGroupChat, type ErrorCode, type PushRequestFrame, type ServerFrame } from "../protocol/frames.ts";
import type { CursorStore } from "../storage/cursors.ts";
import { StorageUnavailableError } from "../storage/errors.ts";
import type { PushPlatform, PushRegistrationStore } from "../storage/push.ts";
import type { Clock } from "../util/clock.ts";
import type { Logger } from "../util/logger.ts";
import { ApnsProvider } from "./apns.ts";
import type { PushConfig } from "../config/push.ts";
import { FcmProvider } from "./fcm.ts";
import type { CallPush, PushProvider } from "./notification.ts";
import { inQuietHours, PushScheduler, type DurableEntry, type PushEvent } from "./scheduler.ts";
import { WebhookProvider } from "./webhook.ts";

/** The providers whose settings are complete; the rest are off. */
export function providersFrom(config: PushConfig): Map<PushPlatform, PushProvider> {
  const providers = new Map<PushPlatform, PushProvider>();
  const { apns, fcm, webhook } = config;
  if (apns.keyFile && apns.keyId && apns.teamId && apns.topic) providers.set("apns", ApnsProvider.fromKeyFile(apns));
  if (fcm.projectId && (fcm.accessToken || fcm.serviceAccountFile)) {
    providers.set(
      "fcm",
      new FcmProvider({
        url: fcm.url,
        projectId: fcm.projectId,
        accessToken: fcm.accessToken || undefined,
        serviceAccount: fcm.serviceAccountFile ? FcmProvider.serviceAccountFrom(fcm.serviceAccountFile) : undefined,
        tokenUrl: fcm.tokenUrl || undefined,
      }),
    );
  }
  if (webhook.url && webhook.secret) providers.set("webhook", new WebhookProvider(webhook));
  return providers;
}

export interface PushServiceDeps {
  config: PushConfig;
  /** Undefined when the backend has no push storage: requests are refused and nothing is pushed. */
  store: PushRegistrationStore | undefined;
  cursors: CursorStore;
  log: Logger;
  observe?: (event: PushEvent) => void;
  clock: Clock;
  /** Tests hand in providers pointed at local servers. */
  providers?: Map<PushPlatform, PushProvider>;
}

/** push.* requests and the scheduler behind one object the node wires in. */
export class PushService {
  /** Undefined when nothing can be pushed: no push storage, or no provider enabled. */
  readonly scheduler: PushScheduler | undefined;
  private readonly providers: Map<PushPlatform, PushProvider>;

  constructor(private readonly deps: PushServiceDeps) {
    this.providers = deps.providers ?? providersFrom(deps.config);
    // Without a provider no device can register (push.register names an enabled platform), so
    // no message is worth tracking until its ack.
    this.scheduler = deps.store && this.providers.size > 0
      ? new PushScheduler({
          store: deps.store,
          cursors: deps.cursors,
          providers: this.providers,
          log: deps.log,
          options: deps.config,
          observe: deps.observe,
          clock: deps.clock,
        })
      : undefined;
  }

  onDurable(entries: readonly DurableEntry[]): void {
    this.scheduler?.onDurable(entries);
  }

  /** Answers one push.* request: `push.ok`, or an `err` frame. */
  async handle(user: string, device: string, frame: PushRequestFrame): Promise<ServerFrame> {
    const store = this.deps.store;
    const fail = (code: ErrorCode, msg: string): ServerFrame => ({ t: "err", r: frame.r, code, msg });
    if (!store) return fail("unavailable", "push notifications are not available on this storage backend");
    try {
      switch (frame.t) {
        case "push.register":
          if (!this.providers.has(frame.platform)) return fail("invalid_field", `platform ${frame.platform} is not enabled on this server`);
          await store.register({ user, device, platform: frame.platform, token: frame.token, updatedAt: this.deps.clock.now() });
          break;
        case "push.unregister":
          await store.unregister(user, device);
          break;
        case "push.mute":
          if (!isGroupChat(frame.chat) && !directChatMembers(frame.chat)?.includes(user)) return fail("forbidden", `not a member of ${frame.chat}`);
          await store.setMute(user, frame.chat, frame.until);
          break;
        case "push.dnd":
          await store.setDnd(user, frame.start === undefined || frame.end === undefined ? undefined : { start: frame.start, end: frame.end, tz: frame.tz });
          break;
      }
    } catch (error) {
      if (error instanceof StorageUnavailableError) return fail("unavailable", "storage unavailable; retry");
      this.deps.log.error({ err: error, user, device, t: frame.t }, "push request failed");
      return fail("internal", "push request failed");
    }
    return { t: "push.ok", r: frame.r };
  }

  /**
   * Wakes the registered devices of `user` that are not `connected` (already ringing) for a
   * call. Not coalesced with message pushes (a call cannot wait); quiet hours hold it like
   * any push.
   */
  async ringCall(user: string, call: CallPush, connected: readonly string[] = []): Promise<void> {
    const store = this.deps.store;
    if (!store) return;
    const emit = (event: PushEvent) => this.deps.observe?.(event);
    try {
      const registrations = (await store.registrations(user)).filter((registration) => !connected.includes(registration.device));
      if (registrations.length === 0) return emit({ type: "no-registrations", user });
      const settings = await store.settings(user);
      const quiet = inQuietHours(settings.dnd, Date.now());
      await Promise.all(
        registrations.map(async (registration) => {
          const { device, platform } = registration;
          if (quiet) return emit({ type: "skipped", user, device, reason: "dnd" });
          const provider = this.providers.get(platform);
          if (!provider) return emit({ type: "failed", user, device, platform, reason: "platform not configured" });
          const outcome = await provider.sendCall(registration, call).catch((error: unknown) => ({
            kind: "failed" as const,
            reason: error instanceof Error ? error.message : String(error),
          }));
          if (outcome.kind === "sent") return emit({ type: "call-sent", user, device, platform, call: call.call });
          if (outcome.kind === "unregistered") {
            const removed = await store.removeIfToken(user, device, registration.token);
            return emit({ type: "unregistered", user, device, platform, removed });
          }
          this.deps.log.warn({ user, device, platform, reason: outcome.reason }, "call push failed");
          emit({ type: "failed", user, device, platform, reason: outcome.reason });
        }),
      );
    } catch (error) {
      this.deps.log.warn({ err: error, user }, "call push failed");
    }
  }

  async stop(): Promise<void> {
    if (this.scheduler) await this.scheduler.stop();
    else await Promise.all([...this.providers.values()].map((p) => p.close()));
  }
}
