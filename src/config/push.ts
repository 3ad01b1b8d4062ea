/** Push settings (README "Configuration"). A provider is on when its required fields are set. */
export interface PushConfig {
  /** How long a device has to ack a message before it is pushed. */
  delayMs: number;
  /** At most one push per user per this window; what comes due meanwhile goes into the next one. */
  coalesceMs: number;
  /** Characters of a plain text message shown in a push; 0 never shows message text. */
  previewChars: number;
  apns: {
    /** https://api.push.apple.com, or https://api.sandbox.push.apple.com for development builds; http:// speaks h2c. */
    url: string;
    /** The .p8 signing key from the Apple developer account. */
    keyFile: string;
    keyId: string;
    teamId: string;
    /** The app's bundle id. */
    topic: string;
  };
  fcm: {
    url: string;
    projectId: string;
    /** A ready OAuth access token, or... */
    accessToken: string;
    /** ...a service-account JSON file the node exchanges for access tokens itself. */
    serviceAccountFile: string;
    /** Overrides the service account's token_uri. */
    tokenUrl: string;
  };
  webhook: {
    url: string;
    /** HMAC-SHA256 key for the x-router-signature header. */
    secret: string;
  };
}

export function defaultPushConfig(): PushConfig {
  return {
    delayMs: 5000,
    coalesceMs: 10_000,
    previewChars: 100,
    apns: { url: "https://api.push.apple.com", keyFile: "", keyId: "", teamId: "", topic: "" },
    fcm: { url: "https://fcm.googleapis.com", projectId: "", accessToken: "", serviceAccountFile: "", tokenUrl: "" },
    webhook: { url: "", secret: "" },
  };
}
