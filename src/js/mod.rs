//! The JS face (feature `js`, which the npm build turns on): the `TetherSocket` class is
//! written in JS (tether_socket.js, with events.js and options.js) and drives the state
//! machine through [`Core`], so that the wasm binary holds only the connection rules and
//! the browser is driven from JS without wasm-bindgen closures or glue per browser API.
//! scripts/build-pkg.sh bundles the class with wasm-bindgen's glue into the package's
//! entries; their TypeScript declarations are written by hand (index.d.ts, slim.d.ts,
//! react.d.ts), as the class is JS.

mod core;

pub use self::core::Core;

/// The allocator of the npm build: smaller than the default dlmalloc, and enough for the few,
/// small allocations the socket makes. No `unsafe`: the locked variant needs none (wasm
/// without threads makes its lock free).
#[global_allocator]
static ALLOCATOR: lol_alloc::LockedAllocator<lol_alloc::FreeListAllocator> =
    lol_alloc::LockedAllocator::new(lol_alloc::FreeListAllocator::new());

/// Without std (the npm build) a panic traps. Nothing in the core panics on any input; this
/// replaces std's handler, whose message formatting would be most of the binary's size.
#[cfg(not(feature = "std"))]
#[panic_handler]
fn on_panic(_: &::core::panic::PanicInfo) -> ! {
    ::core::arch::wasm32::unreachable()
}
