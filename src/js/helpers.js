// Small helpers of the JS face (TetherSocket, its options and events, slots.js); plain JS so
// that strings never cross into wasm. The Rust face's driver imports the browser primitives
// (payloadSize, payloadSizeAtLeast, sizeAbove, isOnline, isVisible, baseUrl) from here too
// (src/browser/bindings.rs): one implementation for both faces. None of those throws,
// whatever it is given: an exception unwinding through wasm would leave the driver half-way
// through its work.

// Chromium refuses longer URLs (url::kMaxURLChars) and kills a page that passes one to
// new WebSocket().
const MAX_URL_CHARS = 2 * 1024 * 1024;

export function utf8Length(s) {
  let bytes = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d < 0xe000) { bytes += 4; i++; } else bytes += 3;
    } else bytes += 3; // lone surrogates are sent as U+FFFD, 3 bytes
  }
  return bytes;
}

// Bytes a WebSocket counts for a payload (in bufferedAmount and on the wire): UTF-8 for
// text, the byte length of buffers and views, the size of Blobs.
export function payloadSize(v) {
  try {
    if (typeof v === "string") return utf8Length(v);
    return (v && (v.byteLength ?? v.size)) || 0;
  } catch { return 0; }
}

// What send() accepts, as WebSocket.send does without throwing: 1 text; 2 binary (a real
// ArrayBuffer, view or Blob; not resizable, shared or detached); 0 anything else. Fakes
// (Object.create(Blob.prototype), proxies) fail on their internal slots and count as 0.
export function payloadKind(v) {
  try {
    if (typeof v === "string") return 1;
    if (v instanceof ArrayBuffer) return usableBuffer(v) ? 2 : 0;
    if (ArrayBuffer.isView(v)) return v.buffer instanceof ArrayBuffer && usableBuffer(v.buffer) && v.byteLength >= 0 ? 2 : 0;
    if (v instanceof Blob) return v.size >= 0 ? 2 : 0;
  } catch { /* a fake: its getters throw */ }
  return 0;
}

// ArrayBuffer's own byteLength getter: it throws "Illegal invocation" on anything but a
// real ArrayBuffer (a fake's own `byteLength` could say anything).
const bufferByteLength = Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, "byteLength").get;

function usableBuffer(b) {
  return bufferByteLength.call(b) >= 0 && !b.resizable && !b.detached;
}

// A lower bound of payloadSize, much cheaper for text: its length (a UTF-16 unit is at
// least one UTF-8 byte).
export function payloadSizeAtLeast(v) {
  return typeof v === "string" ? v.length : payloadSize(v);
}

// Whether a received message is larger than `limit` bytes, sizing text only when its
// length leaves the answer open (a UTF-16 unit is 1 to 3 UTF-8 bytes).
export function sizeAbove(data, limit) {
  if (typeof data === "string") {
    return data.length > limit || (data.length * 3 > limit && utf8Length(data) > limit);
  }
  return payloadSize(data) > limit;
}

export function isOnline() {
  return typeof navigator === "undefined" || navigator.onLine !== false;
}

export function isVisible() {
  return typeof document === "undefined" || document.visibilityState !== "hidden";
}

export function baseUrl() {
  return typeof document !== "undefined" && document.baseURI ? document.baseURI
    : typeof location !== "undefined" ? String(location.href) : undefined;
}

// The JS face's URL and subprotocol checks, done here so that URLs need not pass through
// wasm. They follow the browser's WebSocket constructor (which would throw a SyntaxError);
// the Rust face has its own, with the same rules and messages, in src/browser/target.rs.
// Each throws an Error with the message of the rule broken.

// The absolute URL to connect to: resolved against the page, http(s): mapped to ws(s):.
export function checkUrl(raw) {
  let u;
  try { u = new URL(raw, baseUrl()); } catch { throw new Error("invalid WebSocket URL"); }
  const scheme = { "ws:": "ws:", "wss:": "wss:", "http:": "ws:", "https:": "wss:" }[u.protocol];
  if (!scheme) throw new Error("WebSocket URL scheme must be ws:, wss:, http: or https:");
  if (raw.includes("#")) throw new Error("WebSocket URL must not contain a fragment (#...)");
  u.protocol = scheme;
  if (u.href.length > MAX_URL_CHARS) throw new Error("WebSocket URL is too long (over 2 MiB)");
  return u.href;
}

// A protocols value (a string, an array of strings, or none) as a checked array.
export function checkProtocols(v) {
  const list = v === undefined || v === null ? [] : typeof v === "string" ? [v] : Array.isArray(v) ? [...v] : null;
  const bad = "subprotocol must be a non-empty HTTP token (no spaces, commas or separators)";
  if (!list) throw new Error(bad);
  list.forEach((p, i) => {
    if (typeof p !== "string" || !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(p)) throw new Error(bad);
    if (list.indexOf(p) < i) throw new Error("subprotocol listed more than once");
  });
  return list;
}

// What a URL or protocols provider gave, checked; undefined if unusable.
export function providedUrl(v) {
  try { return typeof v === "string" ? checkUrl(v) : undefined; } catch { return undefined; }
}

export function providedProtocols(v) {
  try { return checkProtocols(v); } catch { return undefined; }
}
