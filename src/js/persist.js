// `continuity: { persist: "session" }`: a socket's continuity session written through to
// sessionStorage as it changes, so that the next page load takes it up (PROTOCOL.md,
// "Keeping a session across page loads"). What is kept, under `tether-ws:<key>`:
//   `tether-ws:<key>`      the session record, the text Core gives (savedSession());
//   `tether-ws:<key>#<n>`  each message Core holds (sent and unacknowledged, or queued),
//                          n counting up in send order: "t" + text, or "b" + one char per byte.
// (A key has no "#", a WebSocket URL neither: one key's names are never another's.)
// A message is written at send(), and removed at the end of the task in which Core let go of
// it (acknowledged, dropped, replaced: its slot released), when the record of that task is
// written. The rules (which messages are whose, what a record means) are Core's.
//
// A duplicated tab copies sessionStorage, and two tabs must never resume one session: each
// socket that holds a session answers for it on a BroadcastChannel named after its key, and
// a page that found a session in storage asks first, taking it up only if no tab answers
// within CLAIM_MS (a reloaded page's predecessor is gone: nobody answers).

import { keep, slotData } from "./slots.js";

const PREFIX = "tether-ws:";
const CLAIM_MS = 100;
// Persist keys of this page's live sockets: two sockets must never share a session (made on
// first use: the module creates nothing at import).
let claimed;

/** The storage text of a message (undefined for a Blob, which cannot be read synchronously). */
function encode(data) {
  if (typeof data === "string") return "t" + data;
  if (typeof Blob === "function" && data instanceof Blob) return undefined;
  const bytes = ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data);
  let out = "b";
  for (let i = 0; i < bytes.length; i += 8192) out += String.fromCharCode.apply(null, bytes.subarray(i, i + 8192));
  return out;
}

/** A message from its storage text: a string, or an ArrayBuffer; undefined if it is not one. */
function decode(text) {
  if (text[0] === "t") return text.slice(1);
  if (text[0] !== "b") return undefined;
  const bytes = new Uint8Array(text.length - 1);
  for (let i = 0; i < bytes.length; i++) bytes[i] = text.charCodeAt(i + 1) & 0xff;
  return bytes.buffer;
}

export class Persisted {
  #storage;
  #base;
  #next = 1; // the number of the next message kept
  #record = ""; // the record as last written
  #pending = false; // a write of the record is queued for the end of this task
  #core;
  #onFail;
  #off = false;
  #restored = false; // the session was taken up, and no resume event has told it yet
  #duplicate = false; // another tab held the session found in storage: this one began anew
  #channel; // where this socket answers for its session, and asks about a stored one
  #kept = new Map(); // slot → n: the messages kept, by the slot Core holds them as, oldest first
  #sweepAll = false; // a send this task may have dropped or replaced any queued message
  /** While a stored session is being claimed: the Promise the first socket waits for. */
  claim;

  /**
   * Claims `key` on this page (throws if a live socket holds it) and reads what an earlier
   * page kept: `{ record, messages }` (messages oldest first, in `taken`, to hand to Core).
   * `onFail(message)` is told once if storage fails; persistence is then off.
   */
  constructor(key, onFail) {
    claimed ??= new Set();
    if (claimed.has(key)) {
      throw new Error(`TetherSocket: another socket on this page persists under "${key}": give each its own \`continuity.persistKey\``);
    }
    claimed.add(key);
    this.#base = PREFIX + key;
    this.#onFail = onFail;
    this.taken = { record: "", messages: [] };
    try {
      const storage = (this.#storage = globalThis.sessionStorage);
      this.taken.record = storage.getItem(this.#base) ?? "";
      const found = [];
      const head = this.#base + "#";
      for (let i = 0; i < storage.length; i++) {
        const name = storage.key(i);
        const n = name?.startsWith(head) ? Number(name.slice(head.length)) : NaN;
        if (Number.isSafeInteger(n) && n > 0) found.push(n);
      }
      found.sort((a, b) => a - b);
      for (const n of found) {
        const data = decode(storage.getItem(head + n) ?? "");
        if (data === undefined) storage.removeItem(head + n);
        else this.taken.messages.push({ n, data });
      }
      this.#next = (found.at(-1) ?? 0) + 1;
      this.#record = this.taken.record;
    } catch (e) {
      this.#fail(e);
    }
  }

  /** Whether messages are still being kept. */
  get on() {
    return !this.#off;
  }

  /** Hands what an earlier page kept to `core`, which reads the record from now on: the
   * session (resumed by the first hello) and its messages (Core decides which are the
   * session's, and queues the others). With a session, only once no other tab claims it:
   * meanwhile `claim` is set, and the first socket waits for it. */
  takeUp(core) {
    this.#core = core;
    const { record, messages } = this.taken;
    this.taken = undefined;
    if (this.#off) return;
    this.#listen();
    if (!record || !this.#channel) {
      this.#restore(record, messages);
      return;
    }
    this.claim = new Promise((resolve) => {
      const done = (owned) => {
        if (this.claim === undefined) return;
        this.claim = undefined;
        clearTimeout(timer);
        this.#channel?.removeEventListener("message", onAnswer);
        if (this.#off) {
          // (Freed meanwhile, or storage failed: nothing to take up.)
        } else if (owned) this.#drop(messages);
        else this.#restore(record, messages);
        resolve();
      };
      const timer = setTimeout(() => done(false), CLAIM_MS);
      const sid = sidOf(record);
      const onAnswer = (e) => e.data?.t === "owned" && e.data.sid === sid && done(true);
      this.#channel.addEventListener("message", onAnswer);
      this.#channel.postMessage({ t: "claim", sid });
    });
  }

  #restore(record, messages) {
    if (this.#off || (!record && !messages.length)) return;
    const slots = messages.map(({ n, data }) => {
      const slot = keep(data);
      this.adopt(slot, n);
      return slot;
    });
    const problem = this.#core.restoreRecord(record, Float64Array.from(slots));
    // (Without a record, the messages were queued before any session: sent in the new one.)
    if (problem && record) this.#onFail(`${problem}: a new session begins, and the messages kept are sent in it`);
    this.#restored = !problem;
  }

  /** The session in storage is another tab's (this one is its duplicate): its record and
   * messages are removed from this tab's storage, and this socket begins its own. */
  #drop(messages) {
    this.#duplicate = true;
    this.#record = "";
    this.#remove(this.#base);
    for (const { n } of messages) this.forget(n);
  }

  /** Answers other tabs' claims of this socket's session (see the top of this file). */
  #listen() {
    if (typeof BroadcastChannel !== "function") return;
    try {
      this.#channel = new BroadcastChannel(this.#base);
    } catch {
      return;
    }
    this.#channel.addEventListener("message", (e) => {
      const sid = this.claim === undefined && this.#record ? sidOf(this.#record) : undefined;
      if (e.data?.t === "claim" && sid !== undefined && e.data.sid === sid) this.#channel.postMessage({ t: "owned", sid });
    });
  }

  /** The `reason` of this resume event when not resumed: "duplicated" the first time after
   * this tab found another's session in storage, else Core's. */
  reasonOf(reason) {
    if (!this.#duplicate) return reason;
    this.#duplicate = false;
    return "duplicated";
  }

  /** Whether this resume event is the first since the session was taken up from storage. */
  restored() {
    const restored = this.#restored;
    this.#restored = false;
    return restored;
  }

  /** Keeps message `data`, held by Core as `slot`, before Core sees it. (Sending may drop
   * or replace a queued one: the task's end looks.) */
  keep(slot, data) {
    if (this.#off) return;
    const text = encode(data);
    const n = this.#next++;
    if (text !== undefined && this.#write(this.#base + "#" + n, text)) this.#kept.set(slot, n);
    this.#sweepAll = true;
    this.changed();
  }

  /** The message a restore handed to Core as `slot` is kept already, as `n`. */
  adopt(slot, n) {
    if (!this.#off) this.#kept.set(slot, n);
  }

  /** Message `slot` was written plainly (sent at most once): no longer kept. */
  unstore(slot) {
    const n = this.#kept.get(slot);
    if (n === undefined) return;
    this.#kept.delete(slot);
    this.forget(n);
  }

  /** Forgets the messages Core has let go of (their slots released). Acks, and drops when
   * a session is lost, let go of the oldest: without a send this task (which may drop or
   * replace any queued message), or a page leaving, the sweep stops at the first message
   * still held, so that a long outbox costs nothing per task. */
  #sweep(all) {
    for (const [slot, n] of this.#kept) {
      if (slotData(slot) !== undefined) {
        if (all) continue;
        return;
      }
      this.#kept.delete(slot);
      this.forget(n);
    }
  }

  /** Removes stored message `n`. */
  forget(n) {
    if (this.#off) return;
    try {
      this.#storage.removeItem(this.#base + "#" + n);
    } catch (e) {
      this.#fail(e);
    }
  }

  /** The session may have changed: the record is written once this task is done. */
  changed() {
    if (this.#pending || this.#off) return;
    this.#pending = true;
    queueMicrotask(() => this.save());
  }

  /** Writes the record now, if it changed (none left: removed), and forgets what Core let
   * go of (all of it when the page is `leaving`). While a stored session is being claimed,
   * Core has none yet: what is stored stays as it is. */
  save(leaving = false) {
    this.#pending = false;
    if (this.#off || !this.#core || this.claim !== undefined) return;
    this.#sweep(this.#sweepAll || leaving);
    this.#sweepAll = false;
    const record = this.#core.savedSession();
    if (record === this.#record) return;
    this.#record = record;
    if (record) this.#write(this.#base, record);
    else this.#remove(this.#base);
  }

  /** The socket is freed: its session is over, nothing of it is kept. */
  end() {
    if (!this.#off) this.#clear();
    this.#off = true;
    this.release();
  }

  /** Lets go of the key, the channel and Core, keeping what is stored (the socket was
   * collected without free(): a later page load may still take the session up). */
  release() {
    this.#kept.clear();
    this.#core = undefined;
    this.#channel?.close();
    this.#channel = undefined;
    claimed.delete(this.#base.slice(PREFIX.length));
  }

  #write(name, text) {
    try {
      this.#storage.setItem(name, text);
      return true;
    } catch (e) {
      this.#fail(e);
      return false;
    }
  }

  #remove(name) {
    try {
      this.#storage.removeItem(name);
    } catch (e) {
      this.#fail(e);
    }
  }

  /** Storage failed (unavailable, quota): persistence off, what was kept removed. */
  #fail(error) {
    if (this.#off) return;
    this.#off = true;
    this.#clear();
    const why = error instanceof Error ? error.message : String(error);
    this.#onFail(`persistence off: sessionStorage failed (${why}); continuity goes on without it`);
  }

  /** Removes every key of this socket's (best effort: storage may be what failed). */
  #clear() {
    this.#kept.clear();
    this.#pending = false;
    try {
      const storage = this.#storage;
      const head = this.#base + "#";
      const names = [];
      for (let i = 0; i < storage.length; i++) {
        const name = storage.key(i);
        if (name === this.#base || name?.startsWith(head)) names.push(name);
      }
      for (const name of names) storage.removeItem(name);
    } catch {
      /* unavailable storage: nothing to remove */
    }
  }
}

/** The session id in a record (undefined if it has none). */
function sidOf(record) {
  try {
    const sid = JSON.parse(record).sid;
    return typeof sid === "string" ? sid : undefined;
  } catch {
    return undefined;
  }
}

/** Whether `data` can be kept (a Blob cannot be read synchronously). */
export function persistable(data) {
  return !(typeof Blob === "function" && data instanceof Blob);
}
