import type { PresenceFrame } from "../protocol/frames.ts";
import type { BlockStore, ContactStore } from "../storage/contacts.ts";
import type { Audience, PrivacySettings, PrivacyStore } from "../storage/privacy.ts";
import type { OnlinePresence, PresenceStore } from "../storage/presence.ts";
import type { Logger } from "../util/logger.ts";
import type { ClientLink, ConnectionRef } from "../seams.ts";

/** One connection watching one user. */
interface Watcher {
  conn: ConnectionRef;
  /** The watching connection's user. */
  viewer: string;
  relation: Relation | undefined;
}

function connectionKey(conn: ConnectionRef): string {
  return `${conn.node}/${conn.id}`;
}

/** Watchers' relations read at once when a user's contacts or blocks change. */
const RELATION_READS = 16;

/** A node that dies takes its users offline in the shared online set within this long. */
export const ONLINE_TTL_MS = 30_000;

/**
 * Whom a user's privacy settings let see what. Plain data: it travels with presence changes
 * between nodes.
 */
export interface PresenceShown {
  online: Audience;
  lastSeen: Audience;
  /**
   * Changes whenever the user's contacts or blocks change: a hub that sees a new value reads
   * its watchers' relations to the user again. Absent until the first change.
   */
  relations?: number;
}

export function presenceShown(settings: PrivacySettings, relations?: number): PresenceShown {
  return { online: settings.online, lastSeen: settings.lastSeen, ...(relations !== undefined ? { relations } : {}) };
}

/**
 * How a watcher stands with the watched user: in their contacts, blocked by them, or
 * neither. Undefined until read: such a watcher sees nothing (fail closed).
 */
export type Relation = "contact" | "other" | "blocked";

function sameAudiences(a: PresenceShown, b: PresenceShown): boolean {
  return a.online === b.online && a.lastSeen === b.lastSeen;
}

/** What one watcher may see of one user. */
export interface Visibility {
  online: boolean;
  lastSeen: boolean;
}

const SEES_NOTHING: Visibility = { online: false, lastSeen: false };

/** A watched user whose settings could not be read shows nothing: fail closed. */
const SHOW_NOTHING: PresenceShown = { online: "nobody", lastSeen: "nobody" };

/** What `shown` lets a watcher with `relation` see. A blocked watcher sees nothing, as with `nobody`. */
export function visibleTo(shown: PresenceShown, relation: Relation | undefined): Visibility {
  if (relation === undefined || relation === "blocked") return SEES_NOTHING;
  const sees = (audience: Audience) => audience === "everyone" || (audience === "contacts" && relation === "contact");
  return { online: sees(shown.online), lastSeen: sees(shown.lastSeen) };
}

/**
 * The presence frame a watcher gets about `user`, given what the watcher may see. `online`
 * only when shown; `last_seen` when shown and known, and (as without settings) not while the
 * user is visibly online; `hidden` whenever anything is withheld from this watcher.
 */
export function presenceView(user: string, online: boolean, lastSeen: number | undefined, shown: Visibility): PresenceFrame {
  const frame: PresenceFrame = { t: "presence", user };
  if (shown.online) frame.online = online;
  if (shown.lastSeen && lastSeen !== undefined && !(online && shown.online)) frame.last_seen = lastSeen;
  if (!shown.online || !shown.lastSeen) frame.hidden = true;
  return frame;
}

export interface PresenceHubDeps {
  link: ClientLink;
  /** Last seen, durable. */
  store: PresenceStore;
  /** Who may see each user's presence (the shared store on a cluster). */
  privacy: PrivacyStore;
  /** Whose contact a watcher is, and who blocked them: `contacts` audiences and blocks. */
  contacts: Pick<ContactStore, "holders">;
  blocks: Pick<BlockStore, "holders">;
  /** Who is online cluster-wide (Redis on a cluster), for watchers of users this node has not heard of. */
  onlineSet: OnlinePresence;
  nodeId: string;
  log: Logger;
}

/**
 * Who is online, and which connections watch whom. UserActors report a user's first device
 * coming and last device going; watchers get `presence` frames at once and on every change.
 * Presence is ephemeral (dropped first under backpressure); last seen is kept in the store
 * so it survives restarts.
 *
 * Changes reach the other nodes as broadcasts, which a node that joined later never heard:
 * so the owner also records who is online in the shared online set (with a TTL its node
 * keeps refreshing), and a watch asks it about users this node does not know to be online.
 */
export class PresenceHub {
  /**
   * The users online, each with the node whose UserActor reported it: if that node goes, so
   * does the news.
   */
  private readonly onlineBy = new Map<string, string>();
  private readonly watchersOf = new Map<string, Map<string, Watcher>>();
  private readonly watchedBy = new Map<string, { conn: ConnectionRef; users: string[] }>();
  /**
   * What each watched user shows, from the store when watched and from every change their
   * UserActor reports since (which carries the settings). `stamp` orders the two: a store
   * read that started before a reported change must not undo it.
   */
  private readonly shownOf = new Map<string, { shown: PresenceShown; stamp: number }>();
  private stamp = 0;

  /** Called on every change this node's UserActors report, so other nodes can apply it. */
  announce: ((user: string, online: boolean, at?: number, shown?: PresenceShown) => void) | undefined;

  constructor(private readonly deps: PresenceHubDeps) {}

  /** A change another node's UserActor reported; that node already stored last seen. */
  applyRemote(user: string, online: boolean, at: number | undefined, from: string, shown?: PresenceShown): void {
    const wasOnline = this.onlineBy.has(user);
    if (online) this.onlineBy.set(user, from);
    else this.onlineBy.delete(user);
    // Still online with the same settings: only the user's relations changed, which
    // noteShown reads again; watchers hear only from those whose view changes.
    if (online && wasOnline && shown && sameAudiences(this.shown(user), shown)) {
      this.noteShown(user, shown);
      return;
    }
    this.report(user, online, at, shown);
  }

  /**
   * The user changed what they show (their UserActor saved it). Watchers get the new view
   * at once, here and, through `announce`, on every node.
   */
  privacyChanged(user: string, shown: PresenceShown): void {
    // Settings change over a live connection, so the user is online here; should the last
    // device have gone meanwhile, watchers get the new settings with the next change.
    if (this.onlineBy.get(user) !== this.deps.nodeId) {
      this.noteShown(user, shown);
      return;
    }
    // Only the relations changed: watchers hear from the read that follows, if their view changes.
    if (sameAudiences(this.shown(user), shown)) this.noteShown(user, shown);
    else this.report(user, true, undefined, shown);
    // To the other nodes this is the same online state, with the new settings.
    this.announce?.(user, true, undefined, shown);
  }

  /**
   * A node left the ring (it died, or drained): the users it reported online have no owner
   * to say when they go. Offline now; those still connected somewhere reconnect to their new
   * owner (the ring change moved them), which reports them online again.
   */
  ownerGone(node: string, at: number): void {
    for (const [user, reporter] of [...this.onlineBy]) {
      if (reporter !== node) continue;
      this.onlineBy.delete(user);
      this.broadcast(user, false, at);
    }
  }

  isOnline(user: string): boolean {
    return this.onlineBy.has(user);
  }

  /**
   * Replaces what `conn` (a connection of `viewer`) watches with `users`, and tells it their
   * presence now, as each user's settings, contacts and blocks let `viewer` see it.
   */
  async watch(conn: ConnectionRef, viewer: string, users: string[], r?: number): Promise<void> {
    this.unwatch(conn);
    const key = connectionKey(conn);
    this.watchedBy.set(key, { conn, users });
    const mine = new Map<string, Watcher>();
    for (const user of users) {
      let watchers = this.watchersOf.get(user);
      if (!watchers) this.watchersOf.set(user, (watchers = new Map()));
      // Sees nothing until its relation is read.
      const watcher: Watcher = { conn, viewer, relation: undefined };
      watchers.set(key, watcher);
      mine.set(user, watcher);
    }
    if (r !== undefined) this.deps.link.send(conn, { t: "watching", r, users: users.length });
    const readStarted = this.stamp;
    const [settings, contactOf, blockedBy] = await Promise.all([
      this.deps.privacy.settingsOf(users),
      this.deps.contacts.holders(users, viewer),
      this.deps.blocks.holders(users, viewer),
    ]);
    for (const [user, chosen] of settings) {
      const known = this.shownOf.get(user);
      // The relations version stays: the other watchers' relations were read for it.
      if (this.watchersOf.has(user) && (!known || known.stamp <= readStarted)) {
        this.shownOf.set(user, { shown: presenceShown(chosen, known?.shown.relations), stamp: readStarted });
      }
    }
    for (const [user, watcher] of mine) watcher.relation = blockedBy.has(user) ? "blocked" : contactOf.has(user) ? "contact" : "other";
    // Last seen for those offline, and for those whose online status is hidden (they are shown
    // their last seen from before they came online).
    const unknown = users.filter((user) => !this.onlineBy.has(user) || !this.visibility(user, mine.get(user)!).online);
    const [elsewhere, lastSeen] = await Promise.all([this.onlineElsewhere(unknown), this.deps.store.lastSeen(unknown)]);
    // Remembered like a broadcast: the owner's next change (offline) arrives as one.
    for (const [user, node] of elsewhere) this.onlineBy.set(user, node);
    // Re-read online state: a change while the store answered already sent its own frame.
    for (const user of users) {
      this.deps.link.send(conn, presenceView(user, this.onlineBy.has(user), lastSeen.get(user), this.visibility(user, mine.get(user)!)), true);
    }
  }

  private shown(user: string): PresenceShown {
    return this.shownOf.get(user)?.shown ?? SHOW_NOTHING;
  }

  private visibility(user: string, watcher: Watcher): Visibility {
    return visibleTo(this.shown(user), watcher.relation);
  }

  /** Keeps what `user` shows, when someone here watches them (nobody else needs it). */
  private noteShown(user: string, shown: PresenceShown | undefined): void {
    this.stamp += 1;
    if (!shown || !this.watchersOf.has(user)) return;
    const before = this.shownOf.get(user)?.shown.relations;
    this.shownOf.set(user, { shown, stamp: this.stamp });
    if (shown.relations !== undefined && shown.relations !== before) {
      this.refreshRelations(user, shown.relations).catch((error: unknown) => {
        this.deps.log.warn({ err: error, user }, "presence relations read failed");
      });
    }
  }

  /**
   * The user's contacts or blocks changed (or this hub never knew which version it read):
   * reads each watcher's relation again and sends a new view to those whose relation changed.
   */
  private async refreshRelations(user: string, version: number): Promise<void> {
    const watchers = this.watchersOf.get(user);
    if (!watchers) return;
    const viewers = [...new Set([...watchers.values()].map((watcher) => watcher.viewer))];
    const relations = new Map<string, Relation>();
    for (let start = 0; start < viewers.length; start += RELATION_READS) {
      await Promise.all(
        viewers.slice(start, start + RELATION_READS).map(async (viewer) => {
          const [contact, blocked] = await Promise.all([this.deps.contacts.holders([user], viewer), this.deps.blocks.holders([user], viewer)]);
          relations.set(viewer, blocked.size > 0 ? "blocked" : contact.size > 0 ? "contact" : "other");
        }),
      );
    }
    // A newer change started its own read, which decides.
    const current = this.shownOf.get(user)?.shown.relations;
    if (current !== undefined && current !== version) return;
    const changed = [...(this.watchersOf.get(user)?.values() ?? [])].filter((watcher) => {
      const relation = relations.get(watcher.viewer);
      if (relation === undefined || relation === watcher.relation) return false;
      watcher.relation = relation;
      return true;
    });
    if (changed.length === 0) return;
    const lastSeen = (await this.deps.store.lastSeen([user])).get(user);
    const online = this.onlineBy.has(user);
    for (const watcher of changed) this.deps.link.send(watcher.conn, presenceView(user, online, lastSeen, this.visibility(user, watcher)), true);
  }

  /** Those of `users` online on some node, with the node. */
  private async onlineElsewhere(users: string[]): Promise<Map<string, string>> {
    if (users.length === 0) return new Map();
    try {
      return await this.deps.onlineSet.online(users);
    } catch (error) {
      this.deps.log.warn({ err: error }, "online set unavailable: watchers see what this node knows");
      return new Map();
    }
  }

  unwatch(conn: ConnectionRef): void {
    const key = connectionKey(conn);
    const previous = this.watchedBy.get(key);
    if (!previous) return;
    this.watchedBy.delete(key);
    for (const user of previous.users) {
      const watchers = this.watchersOf.get(user);
      if (watchers?.delete(key) && watchers.size === 0) {
        this.watchersOf.delete(user);
        this.shownOf.delete(user);
      }
    }
  }

  /** `shown`: the user's settings as their actor knows them (absent: as last heard). */
  userOnline(user: string, shown?: PresenceShown): void {
    this.onlineBy.set(user, this.deps.nodeId);
    this.deps.onlineSet.markOnline(user, this.deps.nodeId, ONLINE_TTL_MS).catch((error: unknown) => {
      this.deps.log.warn({ err: error, user }, "online set write failed");
    });
    this.report(user, true, undefined, shown);
    this.announce?.(user, true, undefined, shown);
  }

  userOffline(user: string, at: number, shown?: PresenceShown): void {
    this.onlineBy.delete(user);
    this.deps.onlineSet.markOffline(user, this.deps.nodeId).catch((error: unknown) => {
      this.deps.log.warn({ err: error, user }, "online set write failed");
    });
    this.deps.store.setLastSeen(user, at).catch((error: unknown) => {
      this.deps.log.warn({ err: error, user }, "last seen write failed");
    });
    this.report(user, false, at, shown);
    this.announce?.(user, false, at, shown);
  }

  /** What `user`'s actor reported (state, and settings when it knows them), to their watchers here. */
  private report(user: string, online: boolean, lastSeen: number | undefined, shown: PresenceShown | undefined): void {
    const before = this.shown(user);
    this.noteShown(user, shown);
    const after = this.shown(user);
    this.broadcast(user, online, lastSeen, before.online !== after.online || before.lastSeen !== after.lastSeen);
  }

  /**
   * A change of `user`'s online state, to their watchers here, as the user's settings let
   * them see it. `settingsChanged`: the view changed even if the state did not, so it goes out.
   */
  private broadcast(user: string, online: boolean, lastSeen?: number, settingsChanged = false): void {
    const watchers = this.watchersOf.get(user);
    if (!watchers) return;
    for (const watcher of watchers.values()) {
      const visible = this.visibility(user, watcher);
      // With online status hidden, coming online shows nothing; going offline shows only a new last seen.
      if (!settingsChanged && !visible.online && (online || !visible.lastSeen)) continue;
      this.deps.link.send(watcher.conn, presenceView(user, online, lastSeen, visible), true);
    }
  }
}
