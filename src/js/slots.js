// The messages Core (wasm) keeps, by slot number: the outbox and the in-flight log hold
// numbers, the values stay here, so no payload is copied into wasm memory. Core releases a
// slot when it lets go of the message (written and sent, acknowledged, dropped, or freed).

import { payloadSize, payloadSizeAtLeast } from "./helpers.js";

const slots = new Map();
let last = 0;

// Keeps `data`; returns its slot number (never 0).
export function keep(data) {
  slots.set(++last, data);
  return last;
}

export function slotData(slot) {
  return slots.get(slot);
}

export function release(slot) {
  slots.delete(slot);
}

export function slotSize(slot) {
  return payloadSize(slots.get(slot));
}

export function slotSizeAtLeast(slot) {
  return payloadSizeAtLeast(slots.get(slot));
}
